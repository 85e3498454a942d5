"""The `fake` voice for tests: deterministic, instant, no model.

FakeListener hears what a test taught it for that exact audio (`FakeListener.teach`); otherwise it finds the
voiced stretches by energy and "hears" one word per 0.4 s of them ("word1 word2 ..."), with real timings, so
pace, pauses and turn-taking can be tested on any recording. FakeSpeaker answers each sentence with a tone as long
as the persona's voice would take to say it, at a frequency that follows the voice's pitch, so delivery
measures (rate, pitch) can run on what it "says".
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from ..config import ModelSpec
from .audio import Audio
from .base import Listener, Speaker, Transcript, VoiceProvider, Word, register
from .persona_voice import BASE_WORDS_PER_MINUTE, DEFAULT_VOICE, PersonaVoice
from .sentences import sentences, speakable

SECONDS_PER_WORD = 0.4
FRAME_SECONDS = 0.02
VOICED_DBFS = -40.0  # a frame at least this loud, and within 20 dB of the loudest, is speech
MIN_GAP_SECONDS = 0.15  # quieter stretches shorter than this are part of the word around them
MIN_VOICED_SECONDS = 0.1
SPEAK_RATE = 16_000
BASE_PITCH_HZ = 120.0  # a low male voice, like the offline one


def fingerprint(audio: Audio) -> str:
    """What FakeListener recognises audio by: the sha256 of its float32 samples."""
    return hashlib.sha256(np.ascontiguousarray(audio.samples, dtype=np.float32).tobytes()).hexdigest()


def voiced_regions(audio: Audio) -> list[tuple[float, float]]:
    """(start, end) seconds of the stretches loud enough to be speech."""
    rate = audio.sample_rate
    frame = max(1, int(rate * FRAME_SECONDS))
    count = len(audio.samples) // frame
    if not count:
        return []
    frames = np.asarray(audio.samples[: count * frame], dtype=np.float64).reshape(count, frame)
    level = 20 * np.log10(np.sqrt(np.mean(frames**2, axis=1)) + 1e-10)
    voiced = (level >= VOICED_DBFS) & (level >= level.max() - 20.0)
    regions: list[list[float]] = []
    for index in np.flatnonzero(voiced):
        start, end = index * frame / rate, (index + 1) * frame / rate
        if regions and start - regions[-1][1] < MIN_GAP_SECONDS:
            regions[-1][1] = end
        else:
            regions.append([start, end])
    return [(start, end) for start, end in regions if end - start >= MIN_VOICED_SECONDS]


def _slots(regions: list[tuple[float, float]], counts: list[int]) -> list[tuple[float, float]]:
    """`counts[i]` equal slots in region i, each word taking 90% of its slot (a short gap before the next)."""
    slots = []
    for (start, end), count in zip(regions, counts, strict=True):
        step = (end - start) / count if count else 0.0
        slots += [(round(start + k * step, 3), round(start + (k + 0.9) * step, 3)) for k in range(count)]
    return slots


def _shares(regions: list[tuple[float, float]], words: int) -> list[int]:
    """`words` shared among the regions by their length (largest remainder), so each word sits in speech."""
    lengths = np.array([end - start for start, end in regions])
    quotas = lengths / lengths.sum() * words
    counts = np.floor(quotas).astype(int)
    for index in np.argsort(-(quotas - counts), kind="stable")[: words - counts.sum()]:
        counts[index] += 1
    return [int(c) for c in counts]


class FakeListener(Listener):
    """Hears taught texts, or one word per 0.4 s of voiced audio."""

    _taught: ClassVar[dict[str, str]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def teach(cls, audio: Audio, text: str) -> None:
        """Make every FakeListener hear `text` in exactly this audio (as decoded: a WAV round trip changes it)."""
        with cls._lock:
            cls._taught[fingerprint(audio)] = text

    @classmethod
    def forget(cls) -> None:
        with cls._lock:
            cls._taught.clear()

    def listen(self, audio: Audio) -> Transcript:
        with self._lock:
            taught = self._taught.get(fingerprint(audio))
        return hear(audio, taught)


def hear(audio: Audio, text: str | None = None) -> Transcript:
    """`text` timed over the voiced stretches of `audio`; without it, one "wordN" per 0.4 s of them."""
    regions = voiced_regions(audio)
    if text is not None:
        texts = text.split()
        regions = regions or [(0.0, audio.duration)]
        slots = _slots(regions, _shares(regions, len(texts))) if texts and audio.duration else []
        words = [Word(text=t, start=a, end=b) for t, (a, b) in zip(texts, slots, strict=False)]
        return Transcript(text=text.strip(), words=words, duration=audio.duration, language="en")
    counts = [max(1, round((end - start) / SECONDS_PER_WORD)) for start, end in regions]
    words = [Word(text=f"word{i + 1}", start=a, end=b) for i, (a, b) in enumerate(_slots(regions, counts))]
    return Transcript(text=" ".join(w.text for w in words), words=words, duration=audio.duration, language="en")


def tone(words: int, voice: PersonaVoice = DEFAULT_VOICE, rate: int = SPEAK_RATE) -> Audio:
    """A sine as long as `words` words at the voice's pace, at BASE_PITCH_HZ moved by the voice's pitch."""
    seconds = words * 60.0 / (BASE_WORDS_PER_MINUTE * voice.rate)
    frequency = BASE_PITCH_HZ * 2.0 ** (voice.pitch / 12.0)
    t = np.arange(int(round(seconds * rate)), dtype=np.float64) / rate
    samples = 0.3 * np.sin(2 * np.pi * frequency * t)
    fade = min(len(samples) // 2, int(0.01 * rate))  # no click at either end
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        samples[:fade] *= ramp
        samples[-fade:] *= ramp[::-1]
    return Audio(samples.astype(np.float32), rate)


class FakeSpeaker(Speaker):
    """One tone per sentence, sized like speech."""

    def speak(self, text: str, voice: PersonaVoice = DEFAULT_VOICE) -> Iterator[Audio]:
        chunks = sentences(speakable(text))
        return (tone(len(chunk.split()), voice or DEFAULT_VOICE) for chunk in chunks)


class FakeVoice(VoiceProvider):
    name = "fake"

    def listener(self, spec: ModelSpec) -> Listener:
        return FakeListener()

    def speaker(self, spec: ModelSpec) -> Speaker:
        return FakeSpeaker()


register(FakeVoice())
