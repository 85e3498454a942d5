"""The `openai` voice: an OpenAI-compatible `/v1/audio/transcriptions` and `/v1/audio/speech` endpoint.

Configured like the chat roles (`RAPPORT_LISTEN_MODEL=openai:whisper-1`, `RAPPORT_SPEAK_MODEL=openai:tts-1@URL`),
with the same key rules: the key comes from the spec's `api_key_env`, a local server needs none, and a user's own
endpoint gets only the user's key (simulator/models/openai_compat.py). Errors are the chat provider's one-liners.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..config import ModelSpec
from ..errors import RapportError
from ..models.openai_compat import api_key_for, describe_openai_error, endpoint_url
from .audio import LISTEN_RATE, MAX_BYTES, Audio, AudioError, read_audio
from .base import Listener, Speaker, Transcript, VoiceProvider, Word, register
from .persona_voice import DEFAULT_VOICE, PersonaVoice
from .sentences import sentences, speakable

DEFAULT_LISTEN_MODEL = "whisper-1"
DEFAULT_SPEAK_MODEL = "tts-1"
DEFAULT_VOICE_NAME = "alloy"
MAX_WORDS = 2000  # words kept from one transcript (a 120 s turn has a few hundred)


def _client(spec: ModelSpec, role: str) -> Any:
    """A sync openai client with the chat provider's key, URL, timeout, retries and TLS context."""
    import openai

    from ..models.openai_chat import tls_context

    return openai.OpenAI(base_url=endpoint_url(spec), api_key=api_key_for(spec, role), timeout=spec.timeout,
                         max_retries=spec.max_retries, http_client=openai.DefaultHttpxClient(verify=tls_context()))


def _failed(exc: Exception, spec: ModelSpec, role: str) -> Exception:
    if isinstance(exc, RapportError):
        return exc
    return describe_openai_error(exc, spec, role) or exc  # not the client's: re-raised as it is


class OpenAIListener(Listener):
    """Whisper (or a compatible model) behind `/v1/audio/transcriptions`, with word timestamps."""

    role = "listen"

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.client = _client(spec, self.role)

    def listen(self, audio: Audio) -> Transcript:
        wav = audio.resampled(LISTEN_RATE).to_wav()  # 16 kHz is all Whisper hears; a third of a 48 kHz upload
        try:
            result = self.client.audio.transcriptions.create(
                model=self.spec.model or DEFAULT_LISTEN_MODEL, file=("turn.wav", wav, "audio/wav"),
                response_format="verbose_json", timestamp_granularities=["word"],
            )
        except Exception as exc:  # noqa: BLE001 - every client error becomes a one-line ModelError
            raise _failed(exc, self.spec, self.role) from None
        return _transcript(result, audio.duration)


def _transcript(result: Any, audio_seconds: float) -> Transcript:
    """A Transcript from a verbose_json answer; servers that send less (no words, no duration) still work."""
    if isinstance(result, str):  # a server that answered plain text
        return Transcript(text=result.strip(), duration=audio_seconds)
    text = getattr(result, "text", None)
    duration = getattr(result, "duration", None)
    if not isinstance(duration, int | float) or not 0 <= duration <= 10 * max(audio_seconds, 1.0):
        duration = audio_seconds
    words = []
    for item in (getattr(result, "words", None) or [])[:MAX_WORDS]:
        word, start, end = (_field(item, k) for k in ("word", "start", "end"))
        if not isinstance(word, str) or not word.strip() or not isinstance(start, int | float):
            continue
        start = min(max(0.0, float(start)), duration)
        end = min(max(start, float(end) if isinstance(end, int | float) else start), duration)
        words.append(Word(text=word.strip(), start=start, end=end))
    language = getattr(result, "language", None)
    return Transcript(text=text.strip() if isinstance(text, str) else " ".join(w.text for w in words),
                      words=words, duration=float(duration),
                      language=language[:32] if isinstance(language, str) and language else None)


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


class OpenAISpeaker(Speaker):
    """`/v1/audio/speech`, one request per sentence, so the first sentence plays while the next is made."""

    role = "speak"

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.client = _client(spec, self.role)
        self.where = endpoint_url(spec) or "https://api.openai.com/v1"

    def speak(self, text: str, voice: PersonaVoice = DEFAULT_VOICE) -> Iterator[Audio]:
        chunks = sentences(speakable(text))
        return (self._say(chunk, voice or DEFAULT_VOICE) for chunk in chunks)

    def _say(self, sentence: str, voice: PersonaVoice) -> Audio:
        try:
            with self.client.audio.speech.with_streaming_response.create(
                model=self.spec.model or DEFAULT_SPEAK_MODEL, voice=voice.name or DEFAULT_VOICE_NAME, input=sentence,
                response_format="wav", speed=voice.rate,
            ) as response:
                body = bytearray()
                for piece in response.iter_bytes():
                    body += piece
                    if len(body) > MAX_BYTES:  # read_audio refuses it too; this stops reading at the limit
                        raise AudioError(f"speech from {self.where}: more than {MAX_BYTES // 1_000_000} MB for one sentence")
        except Exception as exc:  # noqa: BLE001 - every client error becomes a one-line ModelError
            raise _failed(exc, self.spec, self.role) from None
        return read_audio(bytes(body), name=f"speech from {self.where}")


class OpenAIVoice(VoiceProvider):
    name = "openai"

    def listener(self, spec: ModelSpec) -> Listener:
        return OpenAIListener(spec)

    def speaker(self, spec: ModelSpec) -> Speaker:
        return OpenAISpeaker(spec)


register(OpenAIVoice())
