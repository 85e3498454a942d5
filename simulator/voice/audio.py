"""Audio as Rapport passes it around: mono float32 samples in [-1, 1] and their sample rate.

Decoding is bounded: a file longer than MAX_SECONDS or larger than MAX_BYTES is refused before it is decoded,
so a hostile upload cannot fill memory. WAV (PCM 8/16/24/32-bit, float) is read with the standard library;
other containers (webm, ogg, mp3 from a browser) through PyAV, which faster-whisper already brings.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError

MAX_SECONDS = 120.0  # one learner turn; longer recordings are refused, not truncated
MAX_BYTES = 32 * 1024 * 1024
LISTEN_RATE = 16_000  # what Whisper hears


class AudioError(ConfigError):
    """Audio that cannot be used: one line naming the source and what is wrong."""


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # float32, mono, [-1, 1]
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate) if self.sample_rate else 0.0

    def resampled(self, rate: int) -> Audio:
        """Linear-phase polyphase resampling (scipy when present, else linear interpolation)."""
        if rate == self.sample_rate or not len(self.samples):
            return Audio(self.samples, rate) if not len(self.samples) else self
        try:
            from math import gcd

            from scipy.signal import resample_poly

            g = gcd(rate, self.sample_rate)
            out = resample_poly(self.samples, rate // g, self.sample_rate // g).astype(np.float32)
        except ImportError:
            n = int(round(len(self.samples) * rate / self.sample_rate))
            x = np.linspace(0, len(self.samples) - 1, n)
            out = np.interp(x, np.arange(len(self.samples)), self.samples).astype(np.float32)
        return Audio(np.clip(out, -1.0, 1.0), rate)

    def to_wav(self) -> bytes:
        """16-bit PCM WAV bytes."""
        pcm = (np.clip(self.samples, -1.0, 1.0) * 32767.0).astype("<i2")
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(pcm.tobytes())
        return buffer.getvalue()

    @staticmethod
    def concat(chunks: list[Audio]) -> Audio:
        if not chunks:
            return Audio(np.zeros(0, np.float32), LISTEN_RATE)
        rate = chunks[0].sample_rate
        return Audio(np.concatenate([c.resampled(rate).samples for c in chunks]).astype(np.float32), rate)


def read_audio(source: Path | bytes, *, name: str | None = None) -> Audio:
    """Decode a file or bytes to mono float32; AudioError (one line) when it is not audio or too long."""
    label = name or (str(source) if isinstance(source, Path) else "audio")
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
        except OSError as exc:
            raise AudioError(f"{label}: cannot read ({exc.strerror or exc})") from None
        if size > MAX_BYTES:
            raise AudioError(f"{label}: {size // 1_000_000} MB is more than the {MAX_BYTES // 1_000_000} MB allowed")
        data = source.read_bytes()
    else:
        data = source
        if len(data) > MAX_BYTES:
            raise AudioError(f"{label}: {len(data) // 1_000_000} MB is more than the {MAX_BYTES // 1_000_000} MB allowed")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        try:
            return _read_wav(data, label)
        except (wave.Error, EOFError, ValueError, RuntimeError):  # RuntimeError: a chunk longer than the file
            pass  # float or extensible WAV: PyAV reads those
    return _read_with_av(data, label)


# The containers a browser or a recorder produces, told apart by their first bytes. PyAV is told which one it
# is reading and never left to guess: guessing lets a small text file pose as a playlist (concat, HLS, SDP)
# that opens local files or network ports.
READABLE = "WAV, WebM, Ogg, MP3, MP4/M4A or FLAC"


def container_format(data: bytes) -> str | None:
    """The FFmpeg demuxer for `data`, or None when it is not one of the READABLE containers."""
    if data[:4] in (b"RIFF", b"RF64") and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "matroska"  # WebM too
    if data[4:8] == b"ftyp":
        return "mp4"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _too_long(seconds: float, label: str, *, at_least: bool = False) -> AudioError:
    length = f"more than {MAX_SECONDS:.0f} s of audio" if at_least else f"{seconds:.0f} s of audio"
    return AudioError(f"{label}: {length} is more than the {MAX_SECONDS:.0f} s allowed for one turn"
                      if not at_least else f"{label}: {length}; one turn may be at most {MAX_SECONDS:.0f} s")


# Data sizes written by encoders that send a WAV before they know its length (OpenAI's and other speech
# endpoints stream WAV with 0xFFFFFFFF; some write 0x7FFFFFFF or leave 0): the data runs to the end of the file.
_UNKNOWN_SIZES = frozenset({0, 0x7FFFFFFF, 0xFFFFFFFF})


def _data_chunk(data: bytes) -> tuple[int, int] | None:
    """(offset, declared size) of the WAV's `data` chunk, walking the RIFF chunks after the header."""
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if data[pos:pos + 4] == b"data":
            return pos + 8, size
        pos += 8 + size + (size & 1)
    return None


def _read_wav(data: bytes, label: str) -> Audio:
    with wave.open(io.BytesIO(data), "rb") as wav:
        channels, width, rate, frames = wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), wav.getnframes()
        if not 1 <= channels <= 8 or rate < 4000 or rate > 192_000:
            raise AudioError(f"{label}: unsupported WAV ({channels} channels at {rate} Hz)")
        chunk = _data_chunk(data)
        if chunk is not None and chunk[1] in _UNKNOWN_SIZES:  # streamed: what is there counts, not the header
            raw = data[chunk[0]:]
            frames = len(raw) // (width * channels)
        elif frames / rate > MAX_SECONDS:  # refused on the header's word, before anything is decoded
            raise _too_long(frames / rate, label)
        else:
            raw = wav.readframes(frames)  # a file cut short gives what it has
        if frames / rate > MAX_SECONDS:
            raise _too_long(frames / rate, label)
        raw = raw[: len(raw) // (width * channels) * (width * channels)]
    if width == 1:
        samples = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        samples = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16))
        ints = np.where(ints & 0x800000, ints - (1 << 24), ints)
        samples = ints.astype(np.float32) / 8388608.0
    elif width == 4:
        samples = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    else:
        raise AudioError(f"{label}: unsupported WAV sample width {width}")
    samples = samples[: len(samples) // channels * channels].reshape(-1, channels).mean(axis=1)
    return Audio(np.ascontiguousarray(samples, dtype=np.float32), rate)


def _read_with_av(data: bytes, label: str) -> Audio:
    try:
        import av
    except ImportError:
        raise AudioError(f"{label}: not a PCM WAV file (install the voice extra to read other formats)") from None
    form = container_format(data)
    if form is None:
        raise AudioError(f"{label}: not a recording this app can read ({READABLE})")
    try:
        with av.open(io.BytesIO(data), format=form, metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{label}: has no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=LISTEN_RATE)
            parts: list[np.ndarray] = []
            total = 0
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    total += len(chunk)
                    if total > MAX_SECONDS * LISTEN_RATE:
                        raise _too_long(total / LISTEN_RATE, label, at_least=True)
                    parts.append(chunk)
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises many kinds for a file that is not audio
        raise AudioError(f"{label}: not audio this app can read ({type(exc).__name__})") from None
    samples = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    return Audio(np.clip(samples, -1.0, 1.0), LISTEN_RATE)
