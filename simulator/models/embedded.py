"""The embedded default: a GGUF model run in-process by llama.cpp, with no key and no network.

An instruction-tuned model (the default, Qwen2.5 1.5B Instruct) is prompted as a chat through its own chat
template. A base model (Gemma 3 270M, the fast option) continues text, so for it the conversation is rendered
as a script ("Dana: ...\\nRep: ...\\nDana:") and generation stops at the next speaker or line break.

On two cores the persona's instructions take a local model about 20 s to read, so they must be read once: the
prompt keeps what does not change first (prompts.persona_messages), llama.cpp reuses the evaluated prefix of
the previous call, and a state cache keeps each session's prefix so learners sharing the model do not evict
each other. A session warms its prefix as it starts (`warm_prefix`), before the learner's first message.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from ..errors import ConfigError, ModelError, RapportError
from ..settings import settings
from . import gguf_catalog
from .registry import ChatProvider, register

log = logging.getLogger(__name__)
_LOADED: dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()
_RUN_LOCKS: dict[str, threading.Lock] = {}


def default_gguf_path() -> Path:
    """The default embedded model's file, assembled once from its PyPI parts and verified (no network)."""
    return gguf_catalog.resolve(None)[0]


STATE_CACHE_BYTES = 1024 * 1024 * 1024  # the prefixes of up to MAX_ENTRIES sessions (llama_state_cache.py)
CHAT_CONTEXT = 8192  # the 1.5B model's persona prompt is ~900 tokens; twenty turns with their notes fit


def _close_all() -> None:
    """Free llama.cpp models before interpreter teardown (their finalizers fail once modules are gone)."""
    with _LOAD_LOCK:
        for llama in _LOADED.values():
            llama.close()
        _LOADED.clear()


def _silence_llama_cpp_logs() -> None:
    """llama.cpp writes notices to stderr even with verbose=False; a learner should not see them."""
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def _ignore(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        return None

    _silence_llama_cpp_logs.callback = _ignore  # keep a reference: llama.cpp calls it from C
    llama_cpp.llama_log_set(_ignore, ctypes.c_void_p(0))


def load_llama(path: Path, n_ctx: int = CHAT_CONTEXT) -> Any:
    """One llama.cpp instance per model file per process (loading takes a few seconds and up to ~1.5 GB)."""
    key = str(path.resolve())
    with _LOAD_LOCK:
        if key not in _LOADED:
            if not path.is_file():
                raise ConfigError(f"embedded model file not found: {path}; set RAPPORT_PERSONA_MODEL=embedded:/path/to/model.gguf")
            try:
                from llama_cpp import Llama
            except ImportError:
                raise ConfigError("llama-cpp-python is not installed: run `make run` (or pip install llama-cpp-python)") from None
            if not _LOADED:
                _silence_llama_cpp_logs()
                atexit.register(_close_all)
            threads = settings().llama_threads or max(1, (os.cpu_count() or 2))
            try:
                llama = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ConfigError(f"cannot load {path} with llama.cpp: {exc}") from None
            from .llama_state_cache import PrefixStateCache

            # Keeps the evaluated state of each conversation's prompt, found again by longest shared prefix.
            llama.set_cache(PrefixStateCache(capacity_bytes=STATE_CACHE_BYTES))
            _LOADED[key] = llama
            _RUN_LOCKS[key] = threading.Lock()
        return _LOADED[key]


def render_transcript(messages: list[BaseMessage]) -> tuple[str, str, list[str]]:
    """The prompt text, the name of the speaker to continue as, and the stop sequences."""
    parts: list[str] = []
    speakers: set[str] = set()
    reply_as = "Them"
    for message in messages:
        text = str(message.content).strip()
        if isinstance(message, SystemMessage):
            parts.append(text + "\n" if not parts else text)  # the scene opens the script; later notes sit inline
        elif isinstance(message, (AIMessage, HumanMessage)):
            name = message.name or ("Them" if isinstance(message, AIMessage) else "You")
            speakers.add(name)
            if isinstance(message, AIMessage):
                reply_as = name
                if not text:
                    continue  # an empty AI message only names who speaks next
            parts.append(f"{name}: {' '.join(text.split())}")
    speakers.add(reply_as)
    prompt = "\n".join(parts) + f"\n{reply_as}:"
    stops = ["\n"] + [f" {name}:" for name in sorted(speakers)]
    return prompt, reply_as, stops


def has_chat_template(path: Path) -> bool:
    """Whether a GGUF file carries a chat template (an instruction-tuned model), read from its metadata header."""
    try:
        with path.open("rb") as handle:
            head = handle.read(32 * 1024 * 1024)  # metadata (vocabulary included) precedes the tensors
    except OSError:
        return False
    return b"tokenizer.chat_template" in head


_ROLES = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}


def chat_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """langchain messages as the chat-completion messages llama.cpp's chat template renders."""
    return [{"role": _ROLES.get(type(m), "user"), "content": str(m.content)} for m in messages]


class EmbeddedChatModel(BaseChatModel):
    """llama.cpp behind the langchain chat-model interface: chat models through their own template, base models
    as a script."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    temperature: float = 0.6  # a 1.5B model wanders at 0.7 and above
    top_p: float = 0.9
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    presence_penalty: float = 0.3  # a small model otherwise reuses its own opening words reply after reply
    max_tokens: int = 96
    seed: int | None = None
    prompt_style: str = "chat"

    @property
    def _llm_type(self) -> str:
        return "rapport-embedded-llama-cpp"

    def _run_lock(self) -> threading.Lock:
        return _RUN_LOCKS[str(Path(self.model_path).resolve())]

    def _sampling(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        seed = kwargs.get("seed", self.seed)
        return {
            "max_tokens": int(kwargs.get("max_tokens", self.max_tokens)),
            "temperature": float(kwargs.get("temperature", self.temperature)),
            "top_p": self.top_p,
            "repeat_penalty": self.repeat_penalty,
            "seed": seed if seed is not None else -1,
        }

    def _tokens(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> Iterator[str]:
        llama = load_llama(Path(self.model_path))
        with self._run_lock():
            try:
                if self.prompt_style == "chat":
                    stream = llama.create_chat_completion(
                        messages=chat_messages(messages), stream=True, stop=list(stop or []) or None,
                        min_p=self.min_p, presence_penalty=self.presence_penalty, **self._sampling(kwargs))
                    for chunk in stream:
                        text = chunk["choices"][0]["delta"].get("content") or ""
                        if text:
                            yield text
                    return
                prompt, _, stops = render_transcript(messages)
                for chunk in llama.create_completion(prompt, stop=stops + list(stop or []), stream=True,
                                                     **self._sampling(kwargs)):
                    text = chunk["choices"][0].get("text", "")
                    if text:
                        yield text
            except (RuntimeError, ValueError) as exc:
                raise ModelError(f"the embedded model failed: {exc}") from None

    def warm_prefix(self, messages: list[BaseMessage]) -> None:
        """Evaluate the part of a prompt the coming turns share and keep its state, so the first reply reads only
        its new messages (blocking: call it off the event loop)."""
        if self.prompt_style != "chat":
            return  # a base model's scene is a few hundred tokens: read quickly enough on the first turn
        llama = load_llama(Path(self.model_path))
        with self._run_lock():
            try:  # one token generated: the prompt is evaluated and its state saved in the state cache
                llama.create_chat_completion(messages=chat_messages(messages), max_tokens=1, temperature=0.0)
            except (RuntimeError, ValueError):
                log.warning("could not warm the embedded model's prompt", exc_info=True)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self._tokens(messages, stop, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for text in self._tokens(messages, stop, **kwargs):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk


class EmbeddedProvider(ChatProvider):
    """A GGUF file run in-process by llama.cpp: a model named in the catalog (default: Qwen2.5 1.5B Instruct),
    or any .gguf path."""

    name = "embedded"
    usage = f"embedded[:{'|'.join(gguf_catalog.NAMES)}|PATH.gguf]"

    def build(self, spec, role: str) -> BaseChatModel:
        kwargs = {"temperature": spec.temperature} if spec.temperature is not None else {}
        path, style = gguf_catalog.resolve(spec.model)
        style = style or ("chat" if has_chat_template(path) else "transcript")
        if style == "transcript":
            kwargs["repeat_penalty"] = 1.15  # a base model continuing a script loops more readily
            kwargs.setdefault("temperature", 0.7)
        return EmbeddedChatModel(model_path=str(path), prompt_style=style, **kwargs)

    def label(self, spec) -> str:
        name = spec.model or gguf_catalog.DEFAULT
        if name in gguf_catalog.NAMES:
            return f"embedded:{name}" + (" (default)" if not spec.model else "")
        return f"embedded:{Path(name).name}"

    def is_weak_default(self, spec) -> bool:
        """Every bundled model is too small to judge or to write a persona (the 1.5B plays one well enough)."""
        return not spec.model or spec.model in gguf_catalog.NAMES

    def warm_up(self, model: BaseChatModel) -> None:
        """Load the model file in the background so the first reply does not wait for it."""

        def load() -> None:
            try:
                load_llama(Path(model.model_path))
            except RapportError:
                pass  # the same error is shown when the learner sends a message

        threading.Thread(target=load, daemon=True).start()


register(EmbeddedProvider())
