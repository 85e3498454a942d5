"""One long-lived event loop for synchronous callers (the terminal, pytest items, scripts).

HTTP clients bind to the event loop that first uses them, so every synchronous entry point must share
one loop rather than start a new one with `asyncio.run` each time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def bridge_loop() -> asyncio.AbstractEventLoop:
    """The shared loop, running forever in a daemon thread."""
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="rapport-sync-bridge", daemon=True).start()
        return _loop


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the shared loop and wait for its result."""
    return asyncio.run_coroutine_threadsafe(coroutine, bridge_loop()).result()


def iterate_sync(agen: AsyncIterator[T]) -> Iterator[T]:
    """Iterate an async generator from synchronous code, on the shared loop."""
    loop = bridge_loop()
    while True:
        try:
            yield asyncio.run_coroutine_threadsafe(agen.__anext__(), loop).result()
        except StopAsyncIteration:
            return


_cpu_pool = None
CPU_WORKERS = 2  # two threads keep both cores busy without oversubscribing them (ONNX runs release the GIL)


def run_cpu_bound(function: Callable[..., T], *args: Any) -> Awaitable[T]:
    """Run CPU-heavy `function` (the learned coder) off the event loop, two at a time.

    On the loop it would stall every other session's model call; two threads keep both cores busy without
    oversubscribing them (ONNX runs release the GIL).
    """
    global _cpu_pool
    with _lock:
        if _cpu_pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _cpu_pool = ThreadPoolExecutor(max_workers=CPU_WORKERS, thread_name_prefix="rapport-cpu")
    return asyncio.get_running_loop().run_in_executor(_cpu_pool, function, *args)
