"""OpenAI chat-completion wire objects (responses, SSE chunks, errors) built by the mock server."""

from __future__ import annotations

import json
import re
from typing import Any

from simulator.testing.mock_replies import content_text

DONE = b"data: [DONE]\n\n"
_PIECE = re.compile(r"\S+\s*|\s+")


def count_tokens(text: str) -> int:
    """Approximate a token count (about four characters a token), deterministically."""
    return (len(text) + 3) // 4


def usage(body: dict[str, Any], reply: str) -> dict[str, int]:
    """Return an OpenAI usage object with approximate, deterministic counts."""
    prompt = sum(4 + count_tokens(content_text(m.get("content"))) for m in body.get("messages") or []) + 3
    completion = count_tokens(reply)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def split_text(text: str) -> list[str]:
    """Split text into word-sized stream pieces that join back to the original."""
    return _PIECE.findall(text) or [""]


def split_arguments(arguments: str, size: int = 16) -> list[str]:
    """Split tool-call arguments into fixed-size stream pieces."""
    return [arguments[i : i + size] for i in range(0, len(arguments), size)] or [""]


def _finish_reason(body: dict[str, Any], tool: dict[str, Any] | None) -> str:
    # The real API answers "stop" when tool_choice names the function, "tool_calls" otherwise.
    if tool is None or isinstance(body.get("tool_choice"), dict):
        return "stop"
    return "tool_calls"


def completion(
    body: dict[str, Any], reply: str, *, ident: str, created: int, model: str, tool: dict[str, Any] | None
) -> dict[str, Any]:
    """Build a non-streaming chat.completion object; a tool call carries the reply as arguments."""
    message: dict[str, Any] = {"role": "assistant", "content": reply, "refusal": None}
    if tool is not None:
        message["content"] = None
        call = {"id": f"call_{ident}", "type": "function", "function": {"name": tool["name"], "arguments": reply}}
        message["tool_calls"] = [call]
    return {
        "id": f"chatcmpl-{ident}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": _finish_reason(body, tool)}
        ],
        "usage": usage(body, reply),
        "system_fingerprint": "fp_mock",
    }


def sse(obj: dict[str, Any]) -> bytes:
    """Encode one server-sent event."""
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def stream_events(
    body: dict[str, Any], reply: str, *, ident: str, created: int, model: str, tool: dict[str, Any] | None
) -> list[bytes]:
    """Build the SSE chat.completion.chunk events of a streamed reply, without the final [DONE]."""
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    head = {"id": f"chatcmpl-{ident}", "object": "chat.completion.chunk", "created": created, "model": model}
    head["system_fingerprint"] = "fp_mock"

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return sse({**head, "choices": [choice], **({"usage": None} if include_usage else {})})

    if tool is None:
        events = [chunk({"role": "assistant", "content": "", "refusal": None})]
        events += [chunk({"content": piece}) for piece in split_text(reply)]
    else:
        call = {"index": 0, "id": f"call_{ident}", "type": "function"}
        events = [chunk({"role": "assistant", "content": None, "tool_calls": [
            {**call, "function": {"name": tool["name"], "arguments": ""}}
        ]})]
        events += [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in split_arguments(reply)
        ]
    events.append(chunk({}, _finish_reason(body, tool)))
    if include_usage:
        events.append(sse({**head, "choices": [], "usage": usage(body, reply)}))
    return events


def error_body(message: str, kind: str, code: str | None = None) -> bytes:
    """Encode an OpenAI-style error body."""
    return json.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}}).encode()
