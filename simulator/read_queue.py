"""Learner turns from concurrent sessions, read together off the event loop.

A turn is handed to the CPU pool at once when a worker is free, so a lone session waits for nothing. While
both workers are busy, turns that arrive queue up and leave together as one batch the moment a worker frees
(at most `MAX_BATCH`): the reader codes them in one call (`read_many`), and the time a turn waits is time it
would have waited for a worker anyway. Any reader with `batch_key` and `read_many` is batched this way; a
reader without them is read on its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .aio import CPU_WORKERS, run_cpu_bound
from .signals import Conversation, TurnReader, TurnReading

T = TypeVar("T")
MAX_BATCH = 32


@dataclass
class _Job:
    reader: TurnReader
    text: str
    conversation: Conversation
    then: Callable[[TurnReading], Any]  # runs on the worker with the reading (the session's appraisal)
    future: asyncio.Future


def _key(job: _Job, index: int) -> object:
    """Jobs with equal keys are read in one `read_many` call; a reader that cannot batch gets a key of its own."""
    if hasattr(job.reader, "read_many") and (key := getattr(job.reader, "batch_key", None)) is not None:
        return key
    return ("alone", index)


def _read_group(jobs: list[_Job]) -> list[TurnReading | BaseException]:
    """The readings of jobs sharing a reader kind; if the batch fails, each turn is read alone, so one bad turn
    fails only its own session."""
    reader = jobs[0].reader
    if hasattr(reader, "read_many"):  # (only such readers share a group: see `_key`)
        try:
            return list(reader.read_many([(job.text, job.conversation) for job in jobs]))
        except Exception as exc:  # noqa: BLE001 - retried one by one below
            if len(jobs) == 1:
                return [exc]
    found: list[TurnReading | BaseException] = []
    for job in jobs:
        try:
            found.append(job.reader.read(job.text, job.conversation))
        except Exception as exc:  # noqa: BLE001 - handed to that job's awaiting session
            found.append(exc)
    return found


def read_batch(jobs: list[_Job]) -> list[tuple[bool, Any]]:
    """On a worker: read every job's turn (batched by reader), then run its `then`; (ok, value) per job."""
    groups: dict[object, list[int]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(_key(job, i), []).append(i)
    readings: dict[int, TurnReading | BaseException] = {}
    for indices in groups.values():
        readings.update(zip(indices, _read_group([jobs[i] for i in indices])))
    results: list[tuple[bool, Any]] = []
    for i, job in enumerate(jobs):
        reading = readings[i]
        if isinstance(reading, BaseException):
            results.append((False, reading))
        elif job.future.cancelled():  # its session stopped waiting: its state is not touched
            results.append((False, asyncio.CancelledError()))
        else:
            try:
                results.append((True, job.then(reading)))
            except Exception as exc:  # noqa: BLE001
                results.append((False, exc))
    return results


class ReadQueue:
    """The queue of one event loop (its futures belong to that loop)."""

    def __init__(self) -> None:
        self._waiting: list[_Job] = []
        self._in_flight = 0
        self.batches: deque[int] = deque(maxlen=1000)  # sizes of the latest batches (tests read them)

    async def read(self, reader: TurnReader, text: str, conversation: Conversation,
                   then: Callable[[TurnReading], T]) -> T:
        """Read `text` with `reader` and return `then(reading)`, both computed on a CPU worker."""
        job = _Job(reader, text, conversation, then, asyncio.get_running_loop().create_future())
        self._waiting.append(job)
        self._send()
        return await job.future

    def _send(self) -> None:
        self._waiting = [job for job in self._waiting if not job.future.done()]  # cancelled while queued
        while self._waiting and self._in_flight < CPU_WORKERS:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                sent = run_cpu_bound(read_batch, batch)
            except Exception as exc:  # noqa: BLE001 - no worker to run it (the pool is shut down): say so to each
                for job in batch:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            self._in_flight += 1
            self.batches.append(len(batch))
            sent.add_done_callback(lambda done, batch=batch: self._finish(done, batch))

    def _finish(self, done: asyncio.Future, batch: list[_Job]) -> None:
        self._in_flight -= 1
        try:
            results = done.result()
        except BaseException as exc:  # noqa: BLE001 - the worker itself failed: every job hears of it
            results = [(False, exc)] * len(batch)
        for job, (ok, value) in zip(batch, results):
            if job.future.done():  # its session stopped waiting (cancelled)
                continue
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        self._send()


_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReadQueue] = weakref.WeakKeyDictionary()


def read_queue() -> ReadQueue:
    """The running loop's queue."""
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = ReadQueue()
    return queue
