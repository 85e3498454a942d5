"""A limit on failed logins, per user name and per client address, in a sliding window (one process, in memory).

Memory is bounded: at most `max_keys` names and, separately, `max_keys` addresses are tracked (the least
recently failed are forgotten first, but never a name or address that is blocked right now, so failures
from many addresses cannot push a locked name out) and each keeps only its last `limit` failure times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from contextvars import ContextVar

log = logging.getLogger("rapport.auth")

# The address of the client whose request is being handled; gradio's `auth` callable gets only the name
# and password, so `ClientAddress` (an ASGI middleware) sets this for the login route to read.
login_client: ContextVar[str | None] = ContextVar("login_client", default=None)


class ClientAddress:
    """ASGI middleware: make the peer address of each HTTP request available as `login_client`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        peer = scope.get("client")
        token = login_client.set(str(peer[0])[:64] if peer else None)
        try:
            await self.app(scope, receive, send)
        finally:
            login_client.reset(token)


class LoginThrottle:
    """After `per_user` failures for one name, or `per_client` from one address, within `window` seconds,
    further attempts fail without a password check until the oldest failure leaves the window."""

    def __init__(self, per_user: int = 5, per_client: int = 20, window: float = 900.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = {"user": per_user, "client": per_client}
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._failures: dict[str, OrderedDict[str, deque[float]]] = {"user": OrderedDict(), "client": OrderedDict()}
        self._lock = threading.Lock()

    def _keys(self, username: str | None, client: str | None) -> list[tuple[str, str]]:
        keys = [("client", client or "unknown")]
        return keys + [("user", username)] if username is not None else keys

    def blocked(self, username: str | None, client: str | None) -> bool:
        now = self.clock()
        with self._lock:
            for kind, name in self._keys(username, client):
                if self._blocked(kind, self._failures[kind].get(name), now):
                    log.warning("login refused: too many failed attempts for %s %s", kind, name)
                    return True
        return False

    def _blocked(self, kind: str, times: deque[float] | None, now: float) -> bool:
        return times is not None and len(times) >= self.limits[kind] and now - times[0] < self.window

    def failed(self, username: str | None, client: str | None) -> None:
        now = self.clock()
        with self._lock:
            for kind, name in self._keys(username, client):
                table = self._failures[kind]
                times = table.pop(name, None) or deque(maxlen=self.limits[kind])
                times.append(now)
                table[name] = times  # re-inserted last: the most recently failed
                if len(table) > self.max_keys:
                    self._forget_one(kind, table, now)

    def _forget_one(self, kind: str, table: OrderedDict[str, deque[float]], now: float) -> None:
        """Drop the least recently failed entry that is not blocked (the oldest of all if every one is)."""
        victim = next((name for name, times in table.items() if not self._blocked(kind, times, now)), None)
        table.pop(victim if victim is not None else next(iter(table)))

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures["user"].pop(username, None)

    def __len__(self) -> int:
        return sum(len(table) for table in self._failures.values())
