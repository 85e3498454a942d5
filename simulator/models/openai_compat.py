"""Any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio, llama.cpp server, OpenRouter)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

from langchain_core.language_models import BaseChatModel

from ..config import DEFAULT_OPENAI_MODEL, ModelSpec
from ..errors import ConfigError, ModelError
from ..settings import settings
from .registry import ChatProvider, register

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}


def is_local(base_url: str | None) -> bool:
    return bool(base_url) and (urlparse(base_url).hostname or "") in LOCAL_HOSTS


NO_KEY = "not-needed"  # the openai client insists on some key; servers without auth ignore it


def api_key_for(spec: ModelSpec, role: str) -> str:
    """The key for `spec`'s endpoint: a user's endpoint gets only the key the user gave (never the server's
    environment, so the operator's key cannot be sent to a URL a user typed); an operator's spec gets the key from
    its `api_key_env`. Local servers (Ollama, vLLM, LM Studio) do not need one."""
    if spec.user_supplied:
        key = spec.api_key.get_secret_value() if getattr(spec, "api_key", None) else ""
        return key or NO_KEY
    key = settings().secret(spec.api_key_env)
    if key:
        return key
    if is_local(spec.base_url):
        return NO_KEY
    where = spec.base_url or "api.openai.com"
    raise ConfigError(
        f"the {role} model {spec.label} needs an API key for {where}: set {spec.api_key_env}"
        f" (or set RAPPORT_{role.upper()}_API_KEY_ENV to the variable that holds it)"
    )


def endpoint_url(spec: ModelSpec) -> str | None:
    """Where requests for `spec` go; OPENAI_BASE_URL is the operator's default and never applies to a user's spec."""
    if spec.user_supplied:
        return spec.base_url
    return spec.base_url or settings().openai_base_url


def build_openai_chat_model(spec: ModelSpec, role: str) -> BaseChatModel:
    """The chat model for `spec`; the openai client retries 429/5xx/timeouts with backoff and jitter."""
    from .openai_chat import OpenAICompatibleChatModel

    return OpenAICompatibleChatModel(
        model_name=spec.model or DEFAULT_OPENAI_MODEL,
        base_url=endpoint_url(spec),
        api_key=api_key_for(spec, role),
        timeout=spec.timeout,
        max_retries=spec.max_retries,
        temperature=spec.temperature,
    )


def describe_openai_error(exc: BaseException, spec: ModelSpec, role: str) -> ModelError | None:
    """A one-line message for an openai client error, naming what to set; None if `exc` is not one."""
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency
        return None
    where = endpoint_url(spec) or "https://api.openai.com/v1"
    setting = ("the URL in Settings" if spec.user_supplied
               else f"RAPPORT_{role.upper()}_MODEL / RAPPORT_{role.upper()}_BASE_URL")
    key_source = "the key you entered" if spec.user_supplied else f"the API key in {spec.api_key_env}"
    if isinstance(exc, openai.APITimeoutError) and not _never_connected(exc):
        return ModelError(f"the {role} model at {where} did not answer within {spec.timeout:g}s (after retries); try again")
    if isinstance(exc, openai.APIConnectionError):
        return ModelError(f"cannot reach the {role} model at {where}: {_root_cause(exc)}; check that the server is running and {setting}")
    if isinstance(exc, openai.AuthenticationError):
        return ModelError(f"{where} rejected {key_source}; set a valid key", retryable=False)
    if isinstance(exc, openai.NotFoundError):
        return ModelError(f"{where} has no model '{spec.model or DEFAULT_OPENAI_MODEL}' (or the URL is wrong); set {setting}", retryable=False)
    if isinstance(exc, openai.RateLimitError):
        return ModelError(f"the {role} model at {where} is rate-limiting requests (429) even after retries; wait and try again")
    if isinstance(exc, openai.APIStatusError):
        return ModelError(f"the {role} model at {where} answered HTTP {exc.status_code}: {_short(exc.message)}")
    if isinstance(exc, openai.APIError):
        return ModelError(f"the {role} model at {where} failed: {_short(str(exc))}")
    return None


class OpenAIProvider(ChatProvider):
    """Chat completions on any OpenAI-compatible server; the key comes from the spec's `api_key_env`."""

    name = "openai"
    usage = "openai[:MODEL][@URL]"
    structured_output = True

    def build(self, spec: ModelSpec, role: str) -> BaseChatModel:
        return build_openai_chat_model(spec, role)

    def describe_error(self, exc: BaseException, spec: ModelSpec, role: str) -> ModelError | None:
        return describe_openai_error(exc, spec, role)

    def pool_key(self, spec: ModelSpec, shard: int) -> int:
        # Several small pools: aiohttp does not mind one big pool, but httpx (where openai lacks aiohttp support)
        # checks every pooled connection on each request.
        return shard


register(OpenAIProvider())


def _never_connected(exc: BaseException) -> bool:
    """True when the connection failed (refused, dropped, no route, unknown host) rather than a reply being slow:
    the aiohttp transport reports every connection error as a connect *timeout*."""
    import aiohttp

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
            return False
        if isinstance(exc, aiohttp.ClientConnectionError | ConnectionRefusedError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return _short(str(exc) or type(exc).__name__)


def _short(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
