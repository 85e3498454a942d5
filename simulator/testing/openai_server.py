"""A local OpenAI-compatible chat server for tests and benchmarks, with fixed latency and fault injection.

It also answers the audio routes of voice practice: `/v1/audio/transcriptions` hears one word per 0.4 s of voiced
audio (or `config.transcript`), and `/v1/audio/speech` answers with a tone as long as the text would take to say,
in a streamed WAV like OpenAI's (its length fields are 0xFFFFFFFF).

In-process:  `with MockOpenAIServer(latency=0.2) as server: OpenAI(base_url=server.base_url, api_key="x")`
As a process: `python -m simulator.testing.openai_server --port 0 --latency 0.2 --print-port`

Like llama-cpp-python's server: `MockOpenAIServer(refuse_formats=LLAMA_CPP_PYTHON_REFUSES)` (or
`--refuse-format json_schema`) answers a `response_format` of type json_schema with HTTP 500 and that server's body.
A json_object request with a `schema` (llama.cpp's extension) is answered in that schema's shape, as llama.cpp does.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import math
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Self

import uvicorn

from simulator.testing import chat_wire
from simulator.testing.mock_config import Fault, FaultKind, MockServerConfig, RecordedRequest
from simulator.testing.mock_replies import Responder, default_responder, malformed, tool_for_reply

__all__ = [
    "LLAMA_CPP_PYTHON_REFUSES", "Fault", "FaultKind", "MockOpenAIServer", "MockServerConfig", "RecordedRequest", "main",
]

LLAMA_CPP_PYTHON_REFUSES = ("json_schema",)  # llama_cpp.server accepts response_format types text and json_object
RESPONSE_FORMATS = ("text", "json_object", "json_schema")

log = logging.getLogger(__name__)


class _StreamCut(Exception):
    """Raised inside the app to make uvicorn drop a connection mid-response."""


def _quiet_stream_cuts(record: logging.LogRecord) -> bool:
    # uvicorn logs every app exception with a traceback; a deliberate cut is not an error.
    return not (record.exc_info and isinstance(record.exc_info[1], _StreamCut))


class _Uvicorn(uvicorn.Server):
    """A uvicorn server that wakes hung requests as soon as shutdown begins."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.stopping = asyncio.Event()
        self.on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.on_started is not None:
            self.on_started()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.stopping.set()
        await super().shutdown(sockets)


class MockOpenAIServer:
    """An OpenAI-compatible chat server on 127.0.0.1 that records requests and injects faults."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        config: MockServerConfig | None = None,
        replies: Iterable[str] = (),
        faults: Iterable[Fault | FaultKind | str] = (),
        refuse_formats: Iterable[str] = (),
        **options: Any,
    ) -> None:
        if config is not None and options:
            raise TypeError("pass either config= or keyword options, not both")
        self.config = config or MockServerConfig(**options)
        self.responder: Responder = responder or default_responder
        # response_format types answered with HTTP 500 as llama-cpp-python's server does; may change while it runs
        self.refuse_formats: frozenset[str] = frozenset(refuse_formats)
        if unknown := self.refuse_formats - set(RESPONSE_FORMATS):
            raise ValueError(f"unknown response_format types {sorted(unknown)}; use {', '.join(RESPONSE_FORMATS)}")
        self._lock = threading.Lock()
        self._replies: deque[str] = deque(replies)
        self._faults: deque[Fault] = deque(_as_fault(f) for f in faults)
        self._received: list[RecordedRequest] = []
        self._chat_count = 0
        self._sock: socket.socket | None = None
        self._server: _Uvicorn | None = None
        self._thread: threading.Thread | None = None

    # -- test-facing API -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        if self._sock is None:
            raise RuntimeError("MockOpenAIServer is not started")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The URL to hand an OpenAI client as base_url (ends in /v1)."""
        return f"{self.url}/v1"

    @property
    def received(self) -> list[RecordedRequest]:
        """A snapshot of every chat-completion (and audio) request received, faulted ones included."""
        with self._lock:
            return list(self._received)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """A snapshot of the JSON bodies of every chat-completion request received."""
        return [r.body for r in self.received]

    def enqueue_reply(self, *replies: str) -> None:
        """Queue scripted replies; each reply-producing request takes the next one before the responder."""
        with self._lock:
            self._replies.extend(replies)

    def enqueue_fault(self, *faults: Fault | FaultKind | str) -> None:
        """Queue one-shot faults; each chat request takes the next one, in order."""
        with self._lock:
            self._faults.extend(_as_fault(f) for f in faults)

    def reset(self) -> None:
        """Forget recorded requests and queued replies and faults."""
        with self._lock:
            self._received.clear()
            self._replies.clear()
            self._faults.clear()
            self._chat_count = 0

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> Self:
        """Serve from a background thread; returns once the server accepts requests."""
        if self._thread is not None:
            raise RuntimeError("MockOpenAIServer is already running")
        self._server = _Uvicorn(self._uvicorn_config())
        self._sock = self._bind()
        self._thread = threading.Thread(target=self._run, name=f"mock-openai-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("MockOpenAIServer failed to start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down: hung requests are released, then the thread is joined."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._thread = self._server = self._sock = None

    def serve_forever(self, print_port: bool = False) -> None:
        """Serve in the calling (main) thread until SIGINT/SIGTERM."""
        def announce() -> None:  # only once serving, so a harness that reads the port can connect at once
            if print_port:
                print(self.port, flush=True)
            print(f"Mock OpenAI server on {self.base_url}", file=sys.stderr, flush=True)

        self._server = _Uvicorn(self._uvicorn_config(), on_started=announce)
        self._sock = self._bind()
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        sock.listen(1024)
        return sock

    def _uvicorn_config(self) -> uvicorn.Config:
        logging.getLogger("uvicorn.error").addFilter(_quiet_stream_cuts)
        # log_config=None leaves the host's logging alone; "auto" picks uvloop/httptools when installed.
        return uvicorn.Config(
            self, log_config=None, log_level=self.config.log_level, access_log=False, lifespan="off",
            loop="auto", http="auto", ws="none", server_header=False, date_header=False,
            timeout_graceful_shutdown=2, backlog=1024,
        )

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        with asyncio.Runner(loop_factory=self._server.config.get_loop_factory()) as runner:
            runner.run(self._server.serve(sockets=[self._sock]))

    # -- ASGI app ------------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Route one HTTP request (the server object is its own ASGI app)."""
        if scope["type"] != "http":
            return
        route = (scope["method"], scope["path"].removeprefix("/v1"))
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw = await _read_body(receive)
        if raw is None:
            return  # the client went away before sending its body
        if route in (("POST", "/audio/transcriptions"), ("POST", "/audio/speech")):
            return await self._audio(route[1], scope["path"], headers, raw, send)
        if route not in (("POST", "/chat/completions"), ("GET", "/models")):
            return await _send(send, 404, chat_wire.error_body(f"No route {route}", "invalid_request_error"))
        body: dict[str, Any] = {}
        if route[0] == "POST":
            try:
                body = json.loads(raw)
            except ValueError:
                return await _send(send, 400, chat_wire.error_body("Body is not JSON.", "invalid_request_error"))
            with self._lock:
                self._received.append(RecordedRequest(scope["path"], headers, body))
        expected = self.config.api_key
        if expected is not None and headers.get("authorization") != f"Bearer {expected}":
            error = chat_wire.error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            return await _send(send, 401, error)
        if route[0] == "POST":
            return await self._chat(body, receive, send)
        model = {"id": self.config.model, "object": "model", "created": 0, "owned_by": "rapport-mock"}
        await _send(send, 200, json.dumps({"object": "list", "data": [model]}).encode())

    async def _audio(self, route: str, path: str, headers: dict[str, str], raw: bytes, send: Any) -> None:
        """Answer a transcription (multipart upload) or a speech request (JSON); recorded like chat requests,
        with the uploaded file's size in place of its bytes."""
        try:
            body = json.loads(raw) if route == "/audio/speech" else _form_fields(headers.get("content-type", ""), raw)
            if not isinstance(body, dict):
                raise ValueError("the body is not an object")
        except ValueError as error:
            return await _send(send, 400, chat_wire.error_body(f"Bad request body: {error}", "invalid_request_error"))
        upload = body.pop("file", None)
        recorded = {**body, "file_bytes": len(upload)} if isinstance(upload, bytes) else body
        with self._lock:
            self._received.append(RecordedRequest(path, headers, recorded))
        expected = self.config.api_key
        if expected is not None and headers.get("authorization") != f"Bearer {expected}":
            error = chat_wire.error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
            return await _send(send, 401, error)
        if self.config.latency:
            await asyncio.sleep(self.config.latency)
        if route == "/audio/speech":
            return await self._speech(body, send)
        return await self._transcription(body, upload, send)

    async def _transcription(self, body: dict[str, Any], upload: Any, send: Any) -> None:
        from simulator.voice.audio import AudioError, read_audio
        from simulator.voice.fake import hear

        if not isinstance(upload, bytes):
            return await _send(send, 400, chat_wire.error_body("No file uploaded.", "invalid_request_error"))
        try:
            audio = await asyncio.to_thread(read_audio, upload, name=str(body.get("file_name") or "file"))
        except AudioError as error:
            return await _send(send, 400, chat_wire.error_body(str(error), "invalid_request_error"))
        transcript = await asyncio.to_thread(hear, audio, self.config.transcript)
        answer = body.get("response_format") or "json"
        if answer == "text":
            return await _send(send, 200, transcript.text.encode(), content_type="text/plain; charset=utf-8")
        if answer != "verbose_json":
            return await _send(send, 200, json.dumps({"text": transcript.text}).encode())
        verbose: dict[str, Any] = {
            "task": "transcribe", "language": "english", "duration": round(transcript.duration, 3),
            "text": transcript.text,
            "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": round(transcript.duration, 3),
                          "text": transcript.text, "tokens": [], "temperature": 0.0, "avg_logprob": -0.1,
                          "compression_ratio": 1.0, "no_speech_prob": 0.0}],
        }
        if "word" in (body.get("timestamp_granularities[]") or []):
            verbose["words"] = [{"word": w.text, "start": w.start, "end": w.end} for w in transcript.words]
        await _send(send, 200, json.dumps(verbose).encode())

    async def _speech(self, body: dict[str, Any], send: Any) -> None:
        from simulator.voice.fake import tone
        from simulator.voice.persona_voice import PersonaVoice

        text = body.get("input")
        if not isinstance(text, str) or not text.strip():
            return await _send(send, 400, chat_wire.error_body("'input' is required.", "invalid_request_error"))
        if (body.get("response_format") or "mp3") not in ("wav", "pcm"):
            message = "The mock server speaks only response_format 'wav' or 'pcm'."
            return await _send(send, 400, chat_wire.error_body(message, "invalid_request_error"))
        speed = body.get("speed", 1.0)
        speed = min(1.5, max(0.6, float(speed))) if isinstance(speed, int | float) else 1.0
        audio = tone(len(text.split()), PersonaVoice(rate=speed), rate=24_000)
        pcm = (audio.samples * 32767.0).astype("<i2").tobytes()
        if body.get("response_format") == "pcm":
            return await _send(send, 200, pcm, content_type="audio/pcm")
        await _send(send, 200, _streamed_wav_header(24_000) + pcm, content_type="audio/wav")

    def _next_fault(self) -> Fault | None:
        with self._lock:
            self._chat_count += 1
            if self._faults:
                return self._faults.popleft()
            fault = self.config.fault
            return fault if fault is not None and self._chat_count % self.config.fault_every == 0 else None

    def _next_reply(self, body: dict[str, Any]) -> str:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
        return self.responder(_schema_request(body))

    async def _chat(self, body: dict[str, Any], receive: Any, send: Any) -> None:
        """Answer one chat completion, applying latency and the next fault."""
        refused = _refused_format(body, self.refuse_formats)
        if refused is not None:  # request validation: before any fault, latency or queued reply is used
            return await _send(send, 500, _format_refusal(refused, self.refuse_formats))
        config = self.config
        fault = self._next_fault()
        kind = fault.kind if fault is not None else None
        stream = bool(body.get("stream"))
        spread = stream and config.spread_stream_latency
        if config.latency and not spread:
            await asyncio.sleep(config.latency)
        if fault is not None and fault.kind in (FaultKind.RATE_LIMIT, FaultKind.SERVER_ERROR):
            return await _send_fault(send, fault)
        if fault is not None and fault.kind is FaultKind.TIMEOUT and await self._hang(receive, fault.hang_seconds):
            if self._server is not None and self._server.stopping.is_set():
                await _send(send, 503, chat_wire.error_body("Mock server shutting down.", "server_error"))
            return
        try:
            reply = self._next_reply(body)
        except Exception as error:  # a broken responder is a test bug: say so, and forbid retries
            log.exception("mock responder failed")
            payload = chat_wire.error_body(f"Mock responder failed: {error!r}", "server_error")
            return await _send(send, 500, payload, {"x-should-retry": "false"})
        tool = tool_for_reply(body, reply)
        if kind is FaultKind.MALFORMED_JSON:
            reply = malformed(reply)
        with self._lock:
            ident = f"mock{self._chat_count:06d}"
        model, created = body.get("model") or config.model, int(time.time())
        cut_after = fault.cut_after_chunks if fault is not None and fault.kind is FaultKind.STREAM_CUT else None
        if not stream:
            completion = chat_wire.completion(body, reply, ident=ident, created=created, model=model, tool=tool)
            encoded = json.dumps(completion).encode()
            return await _send(send, 200, encoded, cut_at=None if cut_after is None else len(encoded) // 2)
        events = chat_wire.stream_events(body, reply, ident=ident, created=created, model=model, tool=tool)
        events = (events + [chat_wire.DONE])[:cut_after]
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
        ]})
        if spread:
            for event in events:
                await asyncio.sleep(config.latency / max(len(events), 1))
                await send({"type": "http.response.body", "body": event, "more_body": True})
        else:  # one write: the client sees the same events, the server does far less work
            await send({"type": "http.response.body", "body": b"".join(events), "more_body": True})
        if cut_after is not None:
            raise _StreamCut
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _hang(self, receive: Any, seconds: float) -> bool:
        """Wait until the client disconnects, shutdown starts or `seconds` pass; True unless time ran out."""
        assert self._server is not None
        waiters = {asyncio.ensure_future(receive()), asyncio.ensure_future(self._server.stopping.wait())}
        done, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return bool(done)


def _refused_format(body: dict[str, Any], refused: frozenset[str]) -> str | None:
    """The `response_format` type of `body` when it is one of `refused`, else None."""
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    return kind if isinstance(kind, str) and kind in refused else None


def _format_refusal(kind: str, refused: frozenset[str]) -> bytes:
    """llama-cpp-python's answer to a response_format type it does not know: FastAPI's validation error, which its
    route error handler turns into HTTP 500 carrying the error's text."""
    quoted = [f"'{t}'" for t in RESPONSE_FORMATS if t not in refused]
    expected = f"{', '.join(quoted[:-1])} or {quoted[-1]}" if len(quoted) > 1 else "".join(quoted) or "nothing"
    error = {"type": "literal_error", "loc": ("body", "response_format", "type"), "msg": f"Input should be {expected}",
             "input": kind, "ctx": {"expected": expected}}
    return chat_wire.error_body(f"1 validation error:\n  {error!r}\n", "internal_server_error")


def _schema_request(body: dict[str, Any]) -> dict[str, Any]:
    """A json_object request carrying a `schema` as the json_schema request it amounts to (llama.cpp turns that
    schema into a grammar), so the responder answers in its shape."""
    response_format = body.get("response_format")
    if not (isinstance(response_format, dict) and response_format.get("type") == "json_object"
            and isinstance(response_format.get("schema"), dict)):
        return body
    as_schema = {"type": "json_schema", "json_schema": {"name": "schema", "schema": response_format["schema"]}}
    return {**body, "response_format": as_schema}


def _as_fault(fault: Fault | FaultKind | str) -> Fault:
    return fault if isinstance(fault, Fault) else Fault(kind=FaultKind(fault))


async def _read_body(receive: Any) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _form_fields(content_type: str, raw: bytes) -> dict[str, Any]:
    """A multipart/form-data body as {name: value}: text fields as str (repeated `name[]` fields as a list), the
    uploaded file as bytes under its field name, and its file name under `<name>_name`."""
    from email.parser import BytesParser
    from email.policy import HTTP

    if not content_type.lower().startswith("multipart/form-data"):
        raise ValueError("expected multipart/form-data")
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + raw)
    if not message.is_multipart():
        raise ValueError("the multipart body has no parts")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            fields[name], fields[f"{name}_name"] = payload, part.get_filename()
        elif name.endswith("[]"):
            fields.setdefault(name, []).append(payload.decode("utf-8", "replace"))
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields


def _streamed_wav_header(rate: int) -> bytes:
    """A 16-bit mono WAV header whose sizes say "unknown", as OpenAI's streamed speech has."""
    import struct

    unknown = struct.pack("<I", 0xFFFFFFFF)
    return (b"RIFF" + unknown + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + unknown)


async def _send(
    send: Any, status: int, payload: bytes, headers: dict[str, str] | None = None, cut_at: int | None = None,
    content_type: str = "application/json",
) -> None:
    """Send a response (JSON unless told); with cut_at, drop the connection after that many body bytes."""
    raw_headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    if cut_at is not None:
        await send({"type": "http.response.body", "body": payload[:cut_at], "more_body": True})
        raise _StreamCut
    await send({"type": "http.response.body", "body": payload})


async def _send_fault(send: Any, fault: Fault) -> None:
    if fault.kind is FaultKind.RATE_LIMIT:
        # openai-python prefers retry-after-ms and honours it only when 0 < delay <= 120 s.
        headers = {"retry-after": str(math.ceil(fault.retry_after)), "retry-after-ms": f"{fault.retry_after * 1000:g}"}
        body = chat_wire.error_body("Rate limit reached (injected).", "requests", "rate_limit_exceeded")
        return await _send(send, fault.status_code or 429, body, headers)
    body = chat_wire.error_body("The server had an error (injected).", "server_error")
    await _send(send, fault.status_code or 500, body)


def _load_responder(spec: str) -> Responder:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Command line: serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply's first byte")
    parser.add_argument("--spread-stream-latency", action="store_true", help="spread latency over chunks")
    parser.add_argument("--api-key", help="require this bearer key (401 otherwise)")
    parser.add_argument("--model", default="mock-gpt")
    parser.add_argument("--fault", choices=[k.value for k in FaultKind], help="inject this fault")
    parser.add_argument("--fault-every", type=int, default=1, help="into every n-th chat request")
    parser.add_argument("--responder", help="module:function taking the request body, returning reply text")
    parser.add_argument("--transcript", help="what /v1/audio/transcriptions hears (default: one word per 0.4 s)")
    parser.add_argument("--refuse-format", action="append", default=[], choices=RESPONSE_FORMATS,
                        help="answer this response_format type with HTTP 500 like llama-cpp-python's server"
                        " (json_schema is what it refuses; repeatable)")
    parser.add_argument("--print-port", action="store_true", help="print the bound port on stdout first")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    config = MockServerConfig(
        host=args.host, port=args.port, latency=args.latency, spread_stream_latency=args.spread_stream_latency,
        api_key=args.api_key, model=args.model, fault=Fault(kind=args.fault) if args.fault else None,
        fault_every=args.fault_every, log_level=args.log_level, transcript=args.transcript,
    )
    responder = _load_responder(args.responder) if args.responder else None
    # uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown; make that a clean exit 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_cleanly)
    server = MockOpenAIServer(responder, config=config, refuse_formats=args.refuse_format)
    server.serve_forever(print_port=args.print_port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
