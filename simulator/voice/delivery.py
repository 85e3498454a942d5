"""How a spoken turn was delivered: pace, pauses, fillers, loudness and pitch movement.

Measured once per turn from the listener's word timings and the recording itself, stored with the turn
(`Turn.delivery`), and summed up for the scorecard by `evals/delivery.py`. Pure numpy: no model, no network.
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .audio import LISTEN_RATE, Audio

# Spoken fillers. "like", "kind of" and "sort of" often carry meaning ("what kind of help"), which a word list
# cannot tell, so only the hesitations and two phrases that are nearly always empty in speech are counted.
FILLER_WORDS = frozenset({"um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "mm"})
FILLER_PHRASES = ("you know", "i mean")
_WORD = re.compile(r"[a-z']+")
FRAME_SECONDS = 0.04
MIN_PITCH_HZ, MAX_PITCH_HZ = 70.0, 400.0
MONOTONE_SEMITONES = 2.0  # pitch spread below this over a turn of several seconds sounds flat


class Delivery(BaseModel):
    """One spoken turn, measured. Persona turns carry only what their synthesis tells (duration, rate)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spoken: bool = Field(True, description="Said aloud (recorded or synthesised), not typed.")
    duration: float = Field(ge=0, le=3600, allow_inf_nan=False, description="Seconds of speech, first word to last.")
    words: int = Field(ge=0, le=100_000)
    words_per_minute: float | None = Field(None, ge=0, le=10_000, allow_inf_nan=False)
    pause_before: float | None = Field(None, ge=0, le=3600, allow_inf_nan=False, description="Seconds between the other's turn ending and speech.")
    fillers: int = Field(0, ge=0, le=100_000)
    filler_words: list[str] = Field(default_factory=list, max_length=50)
    longest_pause: float = Field(0.0, ge=0, le=3600, allow_inf_nan=False, description="Longest silence between two words, seconds.")
    loudness_db: float | None = Field(None, ge=-400, le=100, allow_inf_nan=False, description="Mean loudness of voiced frames (dBFS).")
    loudness_spread_db: float | None = Field(None, ge=0, le=400, allow_inf_nan=False, description="Standard deviation of voiced loudness.")
    pitch_hz: float | None = Field(None, ge=0, le=10_000, allow_inf_nan=False, description="Median fundamental frequency of voiced frames.")
    pitch_spread_semitones: float | None = Field(None, ge=0, le=200, allow_inf_nan=False, description="Spread of pitch; low means monotone.")
    interrupted: bool = Field(False, description="Started while the other was still speaking.")
    audio_kept: bool = Field(False, description="The recording is stored with the session (the learner opted in).")

    @property
    def monotone(self) -> bool:
        return (self.pitch_spread_semitones is not None and self.duration >= 2.0
                and self.pitch_spread_semitones < MONOTONE_SEMITONES)


def count_fillers(text: str) -> list[str]:
    """The filler words and phrases in `text`, in order."""
    lowered = text.lower()
    found = [w for w in _WORD.findall(lowered) if w in FILLER_WORDS]
    for phrase in FILLER_PHRASES:
        found.extend([phrase] * len(re.findall(rf"(?<![a-z']){phrase}(?![a-z'])", lowered)))
    return found


def measure(transcript, audio: Audio | None = None, *, gap_before: float | None = None,  # noqa: ANN001
            interrupted: bool = False, audio_kept: bool = False) -> Delivery:
    """Measure a learner's spoken turn from its transcript (a `Transcript`) and, when given, its recording.

    `gap_before`: seconds from the end of the persona's last turn to the start of the recording, as the browser
    saw it; the leading silence inside the recording is added to it."""
    words = list(transcript.words)
    fillers = count_fillers(transcript.text)
    if words:
        start, end = words[0].start, max(w.end for w in words)
        gaps = [b.start - a.end for a, b in zip(words, words[1:], strict=False)]
        longest = max([0.0, *gaps])
    else:
        start, end, longest = 0.0, transcript.duration, 0.0
    duration = min(max(0.0, end - start), 3600.0)
    count = min(len(words) or len(_WORD.findall(transcript.text.lower())), 100_000)
    rate = min(count / duration * 60.0, 9_999.0) if duration >= 0.5 and count else None
    pause = None if interrupted else (min(max(0.0, gap_before or 0.0) + start, 3600.0)
                                      if (words or gap_before is not None) else None)
    loudness = pitch = None
    if audio is not None and len(audio.samples):
        audio = audio.resampled(LISTEN_RATE)
        segment = _slice(audio, start, end if words else audio.duration)
        loudness = _loudness(segment)
        pitch = _pitch(segment)
    return Delivery(
        duration=round(duration, 3), words=count, words_per_minute=_r(rate), pause_before=_r(pause),
        fillers=len(fillers), filler_words=fillers[:50], longest_pause=round(max(0.0, longest), 3),
        loudness_db=_r(loudness[0]) if loudness else None, loudness_spread_db=_r(loudness[1]) if loudness else None,
        pitch_hz=_r(pitch[0]) if pitch else None, pitch_spread_semitones=_r(pitch[1]) if pitch else None,
        interrupted=interrupted, audio_kept=audio_kept,
    )


def spoken_reply(text: str, seconds: float) -> Delivery:
    """A persona's reply as it was spoken: its length and the pace it was said at."""
    count = len(_WORD.findall(text.lower()))
    rate = count / seconds * 60.0 if seconds >= 0.5 and count else None
    return Delivery(duration=round(seconds, 3), words=count, words_per_minute=_r(rate))


def _r(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 2)


def _slice(audio: Audio, start: float, end: float) -> np.ndarray:
    a, b = int(max(0.0, start) * audio.sample_rate), int(max(start, end) * audio.sample_rate)
    return audio.samples[a:b] if b > a else audio.samples


def _frames(samples: np.ndarray, size: int) -> np.ndarray:
    n = len(samples) // size
    return samples[: n * size].reshape(n, size) if n else np.zeros((0, size), np.float32)


def _voiced(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame loudness (dBFS) and a mask of frames loud enough to be speech (within 30 dB of the loudest)."""
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-9
    db = 20.0 * np.log10(rms)
    return db, db > max(db.max() - 30.0, -60.0) if len(db) else np.zeros(0, bool)


def _loudness(samples: np.ndarray, rate: int = LISTEN_RATE) -> tuple[float, float] | None:
    frames = _frames(samples, max(1, int(FRAME_SECONDS * rate)))
    if len(frames) < 5:
        return None
    db, voiced = _voiced(frames)
    if voiced.sum() < 3:
        return None
    return float(db[voiced].mean()), float(db[voiced].std())


def _pitch(samples: np.ndarray, rate: int = LISTEN_RATE) -> tuple[float, float] | None:
    """Median f0 and its spread in semitones, by normalised autocorrelation on voiced frames."""
    size = int(FRAME_SECONDS * rate)
    frames = _frames(samples, size)
    if len(frames) < 5:
        return None
    _db, voiced = _voiced(frames)
    lo, hi = int(rate / MAX_PITCH_HZ), int(rate / MIN_PITCH_HZ)
    if hi >= size:
        return None
    f0 = []
    for frame in frames[voiced][:1500]:  # at most a minute of voiced frames
        x = frame - frame.mean()
        spectrum = np.fft.rfft(x, 2 * size)
        ac = np.fft.irfft(spectrum * np.conj(spectrum))[:size]
        if ac[0] <= 0:
            continue
        ac = ac / ac[0]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.45:  # clearly periodic: a voiced sound, not noise or a fricative
            f0.append(rate / lag)
    if len(f0) < 5:
        return None
    f0 = np.array(f0)
    semitones = 12.0 * np.log2(f0 / np.median(f0))
    low, high = np.percentile(semitones, [10, 90])
    return float(np.median(f0)), float((high - low) / 2.0)
