"""A scripted chat model for tests and offline demos: deterministic, streamed word by word, records every prompt."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr

from ..errors import ConfigError
from .registry import ChatProvider, register

Responder = Callable[[list[BaseMessage]], str]


def echo_reply(messages: list[BaseMessage]) -> str:
    """A deterministic reply that picks up the learner's last words, so any conversation can go on."""
    last = next((m.content for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    words = re.findall(r"[A-Za-z']+", str(last))
    topic = " ".join(words[-4:]) if words else "that"
    return f"Hm. You said {topic}. I'm not sure yet. Tell me more about what you mean."


class ScriptedChatModel(BaseChatModel):
    """Replies from a list (in order) or from a function of the prompt; every prompt it receives is kept."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    replies: list[str] = Field(default_factory=list)
    respond: Responder | None = None
    cycle: bool = False  # reuse `replies` from the start when they run out
    fail_with: list[BaseException | None] = Field(default_factory=list)  # one entry consumed per call
    delay: float = 0.0  # seconds per streamed word; lets tests and the UI see streaming
    fail_after: int = 0  # words a failing call streams before its `fail_with` error (a connection cut mid-reply)
    prompts: list[list[BaseMessage]] = Field(default_factory=list)
    prompt_style: str = "chat"
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _calls: int = PrivateAttr(default=0)
    _served: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "rapport-scripted"

    def _next_reply(self, messages: list[BaseMessage], streaming: bool = False) -> str:
        with self._lock:
            self.prompts.append(list(messages))
            call = self._calls
            self._calls += 1
            failure = self.fail_with[call] if call < len(self.fail_with) else None
            served = self._served
            if failure is None:
                self._served += 1  # a failed call does not use up a scripted reply
        if failure is not None:
            if streaming and self.fail_after:
                return _Failing(failure)
            raise failure
        if self.replies:
            if served < len(self.replies):
                return self.replies[served]
            if self.cycle:
                return self.replies[served % len(self.replies)]
            if self.respond is None:
                raise IndexError(f"ScriptedChatModel has only {len(self.replies)} scripted replies")
        return (self.respond or echo_reply)(list(messages))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._next_reply(messages)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import time

        for piece in self._streamed(self._next_reply(messages, streaming=True)):
            if self.delay:
                time.sleep(self.delay)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for piece in self._streamed(self._next_reply(messages, streaming=True)):
            if self.delay:
                await asyncio.sleep(self.delay)
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    def _streamed(self, reply: "str | _Failing") -> Iterator[str]:
        """The reply's pieces; a failing call streams `fail_after` words of a filler reply, then raises."""
        if isinstance(reply, _Failing):
            yield from ["Well, "] * self.fail_after
            raise reply.error
        yield from _pieces(reply)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._next_reply(messages)
        if self.delay:
            await asyncio.sleep(self.delay * len(_pieces(text)))  # as long as streaming the same reply would take
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


class _Failing:
    """A call that fails part-way through its stream."""

    def __init__(self, error: BaseException):
        self.error = error


def _pieces(text: str) -> Sequence[str]:
    """Split into word-sized chunks that concatenate back to `text` exactly."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


class FakeProvider(ChatProvider):
    """`fake` echoes the learner, with a small delay per word that makes streaming visible in the UI;
    `fake:replies.json` replays a JSON list of replies, round and round, at once."""

    name = "fake"
    usage = "fake"

    def build(self, spec, role: str) -> BaseChatModel:
        replies = _scripted_replies(spec.model) if spec.model else []
        return ScriptedChatModel(replies=replies, cycle=True, delay=0.02 if not replies else 0.0)


def _scripted_replies(path: str) -> list[str]:
    import json
    from pathlib import Path

    try:
        replies = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"fake model replies file {path}: {exc}") from None
    if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
        raise ConfigError(f"fake model replies file {path}: expected a JSON list of strings")
    return replies


register(FakeProvider())
