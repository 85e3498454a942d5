"""A lean chat model for OpenAI-compatible endpoints: langchain's interface over the openai client's own
request layer (auth, retries with backoff and jitter, typed errors, SSE streaming).

Why not langchain-openai's ChatOpenAI: measured on 2 cores, it spends ~2.3 ms of CPU per call, ~4 ms of it
(at suite scale) in the openai client's request-parameter transformation, which walks every message through
TypedDict machinery. Sending the plain JSON body through `client.post` skips that; everything else the
client does (retries, errors, streaming) is kept. Suites run at 64 concurrent conversations on 2 cores,
so this overhead decides throughput.

The async client sends over aiohttp (the openai client's own `DefaultAioHttpClient`): at 64 concurrent calls,
httpx's connection pool checks every pooled connection on each request and took most of the event loop's CPU
(docs/benchmarks.md, "Where the time goes"). An aiohttp session belongs to the event loop that made it, so
there is one client per loop, closed by `aclose` or, once the model is dropped, on its own loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import weakref
from collections.abc import AsyncIterator, Iterator
from functools import cache
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle costs ~35 ms, and every client would do it again."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


log = logging.getLogger(__name__)
PASSED_THROUGH = ("max_tokens", "temperature", "response_format", "stop", "top_p", "seed")


def client_options(kwargs: dict) -> dict:
    """The openai client's per-request options among a call's keyword arguments: `max_retries` (a probe of what a
    server accepts goes out without retries, so a refusal is not repeated with backoff)."""
    return {"max_retries": kwargs["max_retries"]} if kwargs.get("max_retries") is not None else {}


def openai_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as OpenAI chat messages (text only; names are not sent: OpenAI rejects spaces in them)."""
    roles = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}
    out = []
    for message in messages:
        role = next((r for cls, r in roles.items() if isinstance(message, cls)), "user")
        out.append({"role": role, "content": message.content if isinstance(message.content, str) else str(message.content)})
    return out


class OpenAICompatibleChatModel(BaseChatModel):
    """Chat completions on any OpenAI-compatible server (OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, ...)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_name: str
    base_url: str | None = None
    api_key: str
    timeout: float = 60.0
    max_retries: int = 3
    temperature: float | None = None
    # id(event loop) -> (a weak reference to that loop, its client); one finaliser per model closes them all
    _async_clients: dict = PrivateAttr(default_factory=dict)
    _finaliser: Any = PrivateAttr(default=None)
    _sync_client: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "rapport-openai-compatible"

    def _common(self) -> dict:
        return {"base_url": self.base_url, "api_key": self.api_key, "timeout": self.timeout,
                "max_retries": self.max_retries}

    def _async(self):
        """The async client of the running event loop, created on first use, with the process's one TLS context."""
        import openai

        loop = asyncio.get_running_loop()
        entry = self._async_clients.get(id(loop))
        if entry is not None and entry[0]() is loop:
            return entry[1]
        for key, (ref, old) in list(self._async_clients.items()):  # clients of loops that have ended
            if ref() is None or ref().is_closed():
                del self._async_clients[key]
                _close_later(ref(), old)
        client = openai.AsyncOpenAI(**self._common(), http_client=_async_http_client())
        self._async_clients[id(loop)] = (weakref.ref(loop), client)
        if self._finaliser is None:  # a dropped model leaves no open session behind
            self._finaliser = weakref.finalize(self, _close_all, self._async_clients)
        return client

    async def aclose(self) -> None:
        """Close this loop's client (its connections); the model makes a new one if used again."""
        entry = self._async_clients.pop(id(asyncio.get_running_loop()), None)
        if entry is not None:
            await entry[1].close()

    def _sync(self):
        import openai

        if self._sync_client is None:
            self._sync_client = openai.OpenAI(**self._common(), http_client=openai.DefaultHttpxClient(verify=tls_context()))
        return self._sync_client

    def _body(self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, kwargs: dict) -> dict:
        body: dict[str, Any] = {"model": self.model_name, "messages": openai_messages(messages)}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if stop:
            body["stop"] = stop
        body.update({k: v for k, v in kwargs.items() if k in PASSED_THROUGH and v is not None})
        if stream:
            body["stream"] = True
        return body

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: AsyncCallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        client = self._async()
        completion = await client.post("/chat/completions", body=self._body(messages, stop, False, kwargs),
                                       cast_to=object, options=client_options(kwargs))
        return _result(completion)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        client = self._sync()
        completion = client.post("/chat/completions", body=self._body(messages, stop, False, kwargs), cast_to=object,
                                 options=client_options(kwargs))
        return _result(completion)

    async def _astream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                       run_manager: AsyncCallbackManagerForLLMRun | None = None,
                       **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        from openai import AsyncStream
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        client = self._async()
        stream = await client.post("/chat/completions", body=self._body(messages, stop, True, kwargs),
                                   cast_to=ChatCompletion, stream=True, stream_cls=AsyncStream[ChatCompletionChunk])
        async for chunk in stream:
            text = chunk.choices[0].delta.content if chunk.choices else None
            if text:
                yield ChatGenerationChunk(message=AIMessageChunk(content=text))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        from openai import Stream
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        client = self._sync()
        stream = client.post("/chat/completions", body=self._body(messages, stop, True, kwargs), cast_to=ChatCompletion,
                             stream=True, stream_cls=Stream[ChatCompletionChunk])
        for chunk in stream:
            text = chunk.choices[0].delta.content if chunk.choices else None
            if text:
                yield ChatGenerationChunk(message=AIMessageChunk(content=text))


def _async_http_client() -> Any:
    """aiohttp under the openai client; httpx where this openai version cannot (it needs `openai[aiohttp]`)."""
    import openai

    try:
        return openai.DefaultAioHttpClient(verify=tls_context())
    except (ImportError, RuntimeError, AttributeError) as exc:
        log.info("the openai client cannot use aiohttp here (%s); sending over httpx", exc)
        return openai.DefaultAsyncHttpxClient(verify=tls_context())


def _result(completion: object) -> ChatResult:
    """The reply text of a chat completion, read from its JSON as sent (`cast_to=object`: building the openai
    client's typed objects for a whole response cost more CPU than the rest of the call's bookkeeping)."""
    if isinstance(completion, str | bytes):  # a server that sends JSON without saying so: openai hands back text
        try:
            completion = json.loads(completion)
        except ValueError:
            completion = None
    choices = completion.get("choices") if isinstance(completion, dict) else None
    choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    text = message.get("content")
    return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text if isinstance(text, str) else ""))])


_closing: set[asyncio.Future] = set()  # close tasks in flight (a task nobody holds may be collected unfinished)


def _close_all(clients: dict) -> None:
    for ref, client in list(clients.values()):
        _close_later(ref(), client)
    clients.clear()


def _close_later(loop: asyncio.AbstractEventLoop | None, client: Any) -> None:
    """Close `client` on its own loop if that loop still runs; if the loop has ended (an `asyncio.run` that
    finished while the model lived on), drop the aiohttp session's connections now, so none is left open."""
    if client.is_closed():
        return
    if loop is not None and loop.is_running():
        def close() -> None:
            task = loop.create_task(client.close())
            _closing.add(task)
            task.add_done_callback(_closing.discard)

        try:
            loop.call_soon_threadsafe(close)
            return
        except RuntimeError:  # the loop closed in between
            pass
    # aiohttp offers no synchronous close; `_close` is what its own finaliser calls (reached through the openai
    # client's vendored transport, so every step is looked up defensively).
    session = getattr(getattr(getattr(client, "_client", None), "_transport", None), "client", None)
    connector = getattr(session, "connector", None)
    if connector is not None and hasattr(session, "detach") and hasattr(connector, "_close"):
        session.detach()
        connector._close()
