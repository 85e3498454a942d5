"""The voice seam: `Listener.listen(audio) -> Transcript` and `Speaker.speak(text, voice) -> audio chunks`.

Which listener and speaker serve is configured like the chat models, as the roles `listen` and `speak`
(`RAPPORT_LISTEN_MODEL`, `RAPPORT_SPEAK_MODEL` or `[models.listen]` / `[models.speak]` in rapport.toml):
`embedded` (the default: offline, always, even when OPENAI_API_KEY is set, so no audio leaves the machine unasked),
`openai:MODEL@URL` (an OpenAI-compatible `/v1/audio/...` endpoint) or `fake` (tests). A plugin adds a provider
with `register(VoiceProvider)`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ..config import ModelSpec, parse_model_spec
from ..errors import ConfigError
from .audio import Audio
from .persona_voice import DEFAULT_VOICE, PersonaVoice


class VoiceRole(StrEnum):
    LISTEN = "listen"
    SPEAK = "speak"


class Word(BaseModel):
    """One recognised word and when it was said (seconds from the start of the audio)."""

    model_config = ConfigDict(frozen=True)

    text: str
    start: float = Field(ge=0, le=3600, allow_inf_nan=False)
    end: float = Field(ge=0, le=3600, allow_inf_nan=False)
    probability: float = Field(1.0, ge=0, le=1)


class Transcript(BaseModel):
    """What the listener heard: the text, each word with its timing, and the audio's length."""

    model_config = ConfigDict(frozen=True)

    text: str
    words: list[Word] = Field(default_factory=list)
    duration: float = Field(ge=0, le=3600, allow_inf_nan=False, description="Seconds of audio listened to.")
    language: str | None = None


class Listener(ABC):
    """Turns speech into a transcript with word timings."""

    @abstractmethod
    def listen(self, audio: Audio) -> Transcript: ...


class Speaker(ABC):
    """Turns text into speech, one chunk per sentence, so playback can start before the whole text is spoken."""

    @abstractmethod
    def speak(self, text: str, voice: PersonaVoice = DEFAULT_VOICE) -> Iterator[Audio]: ...


class VoiceProvider(ABC):
    """Builds listeners and speakers for the specs naming it (`spec.provider == name`)."""

    name: str

    @abstractmethod
    def listener(self, spec: ModelSpec) -> Listener: ...

    @abstractmethod
    def speaker(self, spec: ModelSpec) -> Speaker: ...


_providers: dict[str, VoiceProvider] = {}
_BUILTIN = ("simulator.voice.offline", "simulator.voice.openai_audio", "simulator.voice.fake")
_loaded = False
_lock = threading.Lock()
_built: dict[tuple[str, str], Listener | Speaker] = {}  # one model per spec: loading Whisper takes a second


def register(provider: VoiceProvider) -> VoiceProvider:
    _providers[provider.name] = provider
    return provider


def _load_builtin() -> None:
    global _loaded
    if not _loaded:
        import importlib

        for module in _BUILTIN:
            importlib.import_module(module)
        _loaded = True


def provider(name: str) -> VoiceProvider:
    _load_builtin()
    try:
        return _providers[name]
    except KeyError:
        raise ConfigError(f"no voice provider '{name[:40]}'; use one of {', '.join(sorted(_providers))}") from None


def resolve_voice_spec(role: VoiceRole | str, override: ModelSpec | str | None = None) -> ModelSpec:
    """The spec for `listen` or `speak`: override > RAPPORT_<ROLE>_MODEL > [models.<role>] > embedded (offline)."""
    from ..config import _config_file, _from_env, _from_toml

    role = VoiceRole(role)
    if isinstance(override, str):
        override = parse_model_spec(override)
    if override is not None:
        return override
    found = _from_env(role)  # type: ignore[arg-type]  # reads settings().model_role(role.value)
    if found is None and (path := _config_file()) is not None:
        found = _from_toml(role, path)  # type: ignore[arg-type]
    return found or ModelSpec(provider="embedded", source="default (offline voice)")


def listener_for(override: ModelSpec | str | None = None) -> Listener:
    spec = resolve_voice_spec(VoiceRole.LISTEN, override)
    return _cached(VoiceRole.LISTEN, spec, lambda: provider(spec.provider).listener(spec))


def speaker_for(override: ModelSpec | str | None = None) -> Speaker:
    spec = resolve_voice_spec(VoiceRole.SPEAK, override)
    return _cached(VoiceRole.SPEAK, spec, lambda: provider(spec.provider).speaker(spec))


def _cached(role: VoiceRole, spec: ModelSpec, build):  # noqa: ANN001, ANN202
    key = (role.value, spec.cache_key)
    with _lock:
        found = _built.get(key)
        if found is None:
            found = _built[key] = build()
        return found
