"""Reply text for the mock OpenAI server: the default responder and schema-shaped examples."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

Responder = Callable[[dict[str, Any]], str]
"""Turns a chat-completion request body into the reply text (JSON text for structured output)."""

_MAX_DEPTH = 8


def last_user_text(body: dict[str, Any]) -> str:
    """Return the text of the last user message in a request body, or ''."""
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    """Flatten a message content (string or list of parts) to plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def echo_reply(user_text: str) -> str:
    """Return a short, deterministic two-sentence reply that quotes the user."""
    words = user_text.split()
    if not words:
        return "Hello there. What would you like to talk about?"
    snippet = " ".join(words[:12]) + ("..." if len(words) > 12 else "")
    return f'I hear you saying "{snippet}". Could you tell me a little more about that?'


def default_responder(body: dict[str, Any]) -> str:
    """Reply to any request: schema-shaped JSON when structured output is asked for, else an echo."""
    schema = requested_schema(body)
    if schema is not None:
        return json.dumps(example_from_schema(schema))
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_object":
        return json.dumps({"reply": echo_reply(last_user_text(body))})
    return echo_reply(last_user_text(body))


def requested_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """Return the JSON schema the reply must match (json_schema format or forced tool), if any."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return (response_format.get("json_schema") or {}).get("schema") or {}
    tool = forced_tool(body)
    if tool is not None:
        return tool.get("parameters") or {}
    return None


def _function_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [t["function"] for t in body.get("tools") or [] if t.get("type") == "function"]


def forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """Return the function definition that tool_choice forces ('required' or a named function)."""
    tools = _function_tools(body)
    choice = body.get("tool_choice")
    if not tools or choice in (None, "auto", "none"):
        return None
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        return next((t for t in tools if t.get("name") == name), None)
    return tools[0]  # "required": the model may pick any tool; pick deterministically


def tool_for_reply(body: dict[str, Any], reply: str) -> dict[str, Any] | None:
    """Return the function to call when tools are offered and the reply is a JSON object."""
    tools = _function_tools(body)
    if not tools or body.get("tool_choice") == "none" or not reply.lstrip().startswith("{"):
        return None
    try:
        if not isinstance(json.loads(reply), dict):
            return None
    except ValueError:
        return None
    return forced_tool(body) or tools[0]


def example_from_schema(schema: dict[str, Any], root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """Build a small deterministic value that validates against a (pydantic-style) JSON schema."""
    root = root if root is not None else schema
    if depth > _MAX_DEPTH:
        return None
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {})
        return example_from_schema(target, root, depth + 1)
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"] or schema.get(key, [])
        if options:
            return example_from_schema(options[0], root, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: example_from_schema(sub, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        count = max(int(schema.get("minItems", 1)), 1)
        count = min(count, int(schema.get("maxItems", count)))
        return [example_from_schema(schema.get("items") or {}, root, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        value = _number_in_range(schema)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "example".ljust(int(schema.get("minLength", 0)), "x")


def _number_in_range(schema: dict[str, Any]) -> float:
    """Pick the midpoint of a numeric range, or a value just inside its one bound."""
    low: float | None = schema.get("minimum", schema.get("exclusiveMinimum"))
    high: float | None = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        return (low + high) / 2
    if low is not None:
        return low + 1 if "exclusiveMinimum" in schema else low
    if high is not None:
        return high - 1 if "exclusiveMaximum" in schema else high
    return 0


def malformed(reply: str) -> str:
    """Corrupt a reply so it is never valid JSON (chatty prefix, truncated body)."""
    return "Sure! Here is the result: " + reply[: len(reply) // 2]
