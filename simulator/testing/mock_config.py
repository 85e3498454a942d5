"""Settings and records of the mock OpenAI server: its configuration, injected faults, received requests."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FaultKind(StrEnum):
    """The failures the server can inject into a chat-completion request."""

    RATE_LIMIT = "rate_limit"  # HTTP 429 with retry-after
    SERVER_ERROR = "server_error"  # HTTP 500
    TIMEOUT = "timeout"  # no answer until the client gives up (or hang_seconds pass)
    STREAM_CUT = "stream_cut"  # some chunks, then the connection drops without [DONE]
    MALFORMED_JSON = "malformed_json"  # a 200 reply whose content (or tool arguments) is not JSON


class Fault(BaseModel):
    """One injected failure and its knobs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    status_code: int | None = Field(default=None, description="Overrides 429/500 for rate_limit/server_error.")
    retry_after: float = Field(default=1.0, ge=0, description="Seconds advertised by rate_limit (retry-after[-ms]).")
    hang_seconds: float = Field(default=60.0, gt=0, description="How long timeout hangs if the client stays.")
    cut_after_chunks: int = Field(default=2, ge=0, description="SSE events sent before stream_cut drops the line.")


class MockServerConfig(BaseModel):
    """Settings of a mock server; may be changed while it runs (read on every request)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port.")
    latency: float = Field(default=0.0, ge=0, description="Seconds before the first byte of every chat reply.")
    spread_stream_latency: bool = Field(default=False, description="Spread latency over stream chunks instead.")
    api_key: str | None = Field(default=None, description="When set, other bearer keys get HTTP 401.")
    model: str = "mock-gpt"
    fault: Fault | None = Field(default=None, description="Injected when the one-shot queue is empty.")
    fault_every: int = Field(default=1, ge=1, description="Inject `fault` into every n-th chat request.")
    log_level: str = "warning"
    transcript: str | None = Field(
        default=None, description="What /v1/audio/transcriptions hears in every upload; None: one word per 0.4 s "
        "of voiced audio, like the fake listener.")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One chat-completion request as received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
