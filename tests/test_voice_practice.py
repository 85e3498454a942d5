"""Voice practice beyond the engines: delivery measured per spoken turn, stored (audio only when kept, and only
for its learner), shown in the scorecard, weighed by the rubric, and scripted in suites with recorded turns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evals.delivery import delivery_report
from evals.grading import Grader
from simulator.models import ScriptedChatModel
from simulator.persona import PersonaLibrary
from simulator.session import Session
from simulator.store import SessionStore
from simulator.store.database import dispose_all
from simulator.store.sessions import SessionNotFoundError
from simulator.transcript import Speaker, Transcript, Turn
from simulator.voice import Audio, Transcript as Heard, Word
from simulator.voice.delivery import Delivery, count_fillers, measure

REPO = Path(__file__).resolve().parent.parent
VOICE_DATA = REPO / "tests" / "data" / "voice"
RATE = 16_000


def voiced(seconds: float, f0: float | np.ndarray = 140.0, level: float = 0.3) -> np.ndarray:
    """A buzzy periodic sound (harmonics of f0), like a vowel: autocorrelation pitch finds f0 in it."""
    t = np.arange(int(seconds * RATE)) / RATE
    f = np.broadcast_to(np.asarray(f0, dtype=np.float64), t.shape)
    phase = 2 * np.pi * np.cumsum(f) / RATE
    return (level * sum(np.sin(k * phase) / k for k in range(1, 6))).astype(np.float32)


def heard(text: str, start: float, seconds_per_word: float) -> Heard:
    words = [Word(text=w, start=start + i * seconds_per_word, end=start + (i + 0.8) * seconds_per_word)
             for i, w in enumerate(text.split())]
    return Heard(text=text, words=words, duration=words[-1].end + 0.5)


def test_a_spoken_turn_is_measured_for_pace_pauses_fillers_loudness_and_pitch():
    text = "um so I was uh wondering how you are getting on you know with the new plan"
    transcript = heard(text, start=1.2, seconds_per_word=0.4)  # 150 words a minute after 1.2 s of silence
    flat = np.concatenate([np.zeros(int(1.2 * RATE), np.float32), voiced(7.0, 140.0)])
    glide = np.concatenate([np.zeros(int(1.2 * RATE), np.float32),
                            voiced(7.0, 110.0 + 80.0 * (0.5 + 0.5 * np.sin(np.linspace(0, 12, int(7.0 * RATE)))))])
    steady = measure(transcript, Audio(flat, RATE), gap_before=0.5)
    lively = measure(transcript, Audio(glide, RATE), gap_before=0.5)
    assert steady.words == 17 and steady.words_per_minute == pytest.approx(17 / (16 * 0.4 + 0.32) * 60, rel=0.01)
    assert steady.pause_before == pytest.approx(1.7)  # the page's 0.5 s plus the silence inside the recording
    assert steady.fillers == 3 and steady.filler_words == ["um", "uh", "you know"]
    assert steady.pitch_hz == pytest.approx(140.0, rel=0.05)
    assert steady.monotone and not lively.monotone
    assert lively.pitch_spread_semitones > 2 * steady.pitch_spread_semitones
    assert steady.loudness_db is not None and steady.loudness_spread_db < 3
    interrupting = measure(transcript, Audio(flat, RATE), gap_before=None, interrupted=True)
    assert interrupting.interrupted and interrupting.pause_before is None


def test_fillers_are_counted_as_whole_words_only():
    assert count_fillers("Umbrella, uh, I mean the umpire, what kind of ermine") == ["uh", "i mean"]


def _spoken(rate: float, *, fillers: int = 0, interrupted: bool = False, pause: float = 0.8) -> Delivery:
    return Delivery(duration=4.0, words=int(rate * 4 / 60), words_per_minute=rate, pause_before=pause,
                    fillers=fillers, interrupted=interrupted)


def _conversation(library: PersonaLibrary, deliveries: list[Delivery | None]) -> Transcript:
    persona = library.get("upset-parent")
    lines = ["I can hear how worried you have been about Yasmin.", "What happened when she came home that day?",
             "That must have been frightening for both of you.", "What would help you feel she is safe here?"]
    turns = [Turn(speaker=Speaker.PERSONA, text=persona.opening_line)]
    for line, delivery in zip(lines, deliveries, strict=True):
        turns += [Turn(speaker=Speaker.LEARNER, text=line, delivery=delivery),
                  Turn(speaker=Speaker.PERSONA, text="She came home with her coat torn and a scratch on her neck.")]
    return Transcript(persona=persona.id, turns=turns)


def test_the_delivery_report_gives_each_finding_with_its_turns_and_the_trend(library):
    persona = library.get("upset-parent")
    pace = persona.voice.words_per_minute
    transcript = _conversation(library, [_spoken(pace * 1.5, fillers=4, pause=4.0), _spoken(pace * 1.4, fillers=3),
                                         _spoken(pace, interrupted=True), _spoken(pace * 1.05)])
    report = delivery_report(transcript.turns, persona)
    findings = dict(report.findings)
    assert report.spoken_turns == 4 and report.interruptions == 1 and report.fillers == 7
    assert findings["Faster than they speak"] == [1, 3]
    assert findings["You matched their pace"] == [5, 7]
    assert findings["You started before they had finished"] == [5]
    assert findings["3 or more filler words"] == [1, 3]
    assert any("pace went from" in note for note in report.trend)
    assert 0 < report.talk_share < 1
    typed = _conversation(library, [None] * 4)
    assert delivery_report(typed.turns, persona) is None


def test_pace_matching_feeds_adaptability_and_a_typed_conversation_is_graded_as_before(library):
    from simulator.aio import run_sync

    persona = library.get("upset-parent")
    pace = persona.voice.words_per_minute
    grader = Grader(offline_only=True)

    def grade(deliveries):
        return run_sync(grader.grade(_conversation(library, deliveries), persona)).scorecard

    typed = grade([None] * 4)
    matched = grade([_spoken(pace)] * 4)
    rushed = grade([_spoken(pace * 1.6, interrupted=True)] * 4)
    assert matched.criteria["adaptability"].score > typed.criteria["adaptability"].score
    assert rushed.criteria["adaptability"].score == typed.criteria["adaptability"].score
    assert rushed.criteria["active_listening"].score < typed.criteria["active_listening"].score


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    yield SessionStore()
    dispose_all()


def test_delivery_is_stored_with_the_turn_and_a_kept_recording_only_for_its_learner(store, library):
    session = Session(library.get("upset-parent"), ScriptedChatModel(respond=lambda m: "Go on."))
    store.record(session, "ana")
    list(session.send_sync("I hear you.", delivery=_spoken(150.0, fillers=1)))
    list(session.send_sync("Typed this time."))
    assert not store.load_record(session.id, learner_id="ana").turns[1].delivery.audio_kept
    store.keep_audio(session.id, 1, b"RIFF-recording", learner_id="ana")
    record = store.load_record(session.id, learner_id="ana")
    assert record.turns[1].delivery == _spoken(150.0, fillers=1).model_copy(update={"audio_kept": True})
    assert record.turns[3].delivery is None
    store.record(store.load(session.id, ScriptedChatModel(replies=["Ok."]), learner_id="ana"), "ana")  # resumed
    assert store.audio(session.id, 1, learner_id="ana") == b"RIFF-recording"
    assert store.audio(session.id, 1, learner_id="ana") == b"RIFF-recording"
    assert store.audio(session.id, 3, learner_id="ana") is None
    with pytest.raises(SessionNotFoundError):
        store.audio(session.id, 1, learner_id="ben")
    with pytest.raises(SessionNotFoundError):
        store.keep_audio(session.id, 1, b"RIFF-forged", learner_id="ben")
    with pytest.raises(SessionNotFoundError):
        store.keep_audio(session.id, 99, b"RIFF", learner_id="ana")
    exported = store.export(session.id, learner_id="ana")
    assert exported.turns[1].delivery.fillers == 1
    session.undo()  # the typed exchange
    session.undo()  # the spoken one: its recording goes with it
    assert store.audio(session.id, 1, learner_id="ana") is None


def test_a_store_made_before_voice_is_upgraded_in_place(tmp_path, monkeypatch, library):
    from .test_store import old_database

    url = old_database(tmp_path / "old.db", "0001", library.get("upset-parent"))
    record = SessionStore(url).load_record("s1", learner_id="ana")
    assert record.turns[0].text == "Hi" and record.turns[0].delivery is None


def test_every_bundled_persona_has_a_voice(library):
    voices = {library.get(i).voice for i in library.ids()}
    assert None not in voices and len(voices) >= 10  # each sounds like who they are, not one shared voice


def test_a_suite_with_recorded_turns_hears_them_and_checks_delivery(tmp_path, library):
    import shutil

    from evals.suite.runner import SuiteRunner, load_suites
    from simulator.aio import run_sync

    for name in ("hard-for-you.wav", "fillers.wav"):
        shutil.copy(VOICE_DATA / name, tmp_path / name)
    suite = tmp_path / "voice.yaml"
    suite.write_text(
        "schema_version: 1\nname: voice\ndefaults:\n  models: {persona: fake, judge: null}\n"
        "cases:\n  - id: spoken\n    persona: upset-parent\n    learner:\n      script:\n"
        "        - {audio: hard-for-you.wav}\n        - That sounds hard.\n        - {audio: fillers.wav}\n"
        "    expect:\n      delivery:\n        transcript_contains: [hard for you, wondering]\n"
        "        max_interruptions: 0\n        words_per_minute: {min: 60, max: 260}\n"
        "        max_fillers_per_100_words: 3\n", encoding="utf-8")
    report = run_sync(SuiteRunner(load_suites([suite], library), library=library, concurrency=1).run())
    assert report.runs[0].error is None, report.runs[0].error
    verdicts = {v.expectation: v for v in report.runs[0].verdicts}
    assert verdicts["heard 'hard for you'"].status == "passed"
    assert verdicts["interruptions <= 0"].status == "passed"
    assert verdicts["fillers per 100 words <= 3"].status == "failed"  # the recording says "uh"
    spoken = [t for t in report.runs[0].transcript.turns if t.delivery is not None]
    assert len(spoken) == 2 and spoken[1].delivery.fillers >= 1


def test_only_what_the_stored_reply_keeps_is_spoken_each_sentence_once():
    from simulator.voice.follow import ReplyVoice

    voice = ReplyVoice(["Farid Haddad", "Farid", "Teacher"], "Are you a bot?")
    stream = ("Farid: *folds his arms* I waited nine days. Nine days! As an AI language model I cannot say. "
              "Teacher: I am so sorry. [END]")
    said = [s for end in range(1, len(stream) + 1) for s in voice.ready(stream[:end])]
    said += voice.ready("*folds his arms* I waited nine days. Nine days!", complete=True)
    assert said == ["I waited nine days.", "Nine days!"]  # no label, direction, AI claim or other speaker
    retried = ReplyVoice(["Farid"])
    assert retried.ready("First try. And ") == ["First try."]
    retried.restart()  # the model call started the reply again
    assert retried.ready("Second try. Then more.", complete=True) == ["Second try.", "Then more."]


def test_one_voice_follows_the_replies_in_order_and_stops_where_the_learner_interrupts(library, monkeypatch):
    import asyncio
    import json

    from rapport.ui import voice_panel
    from rapport.ui.app import build_app
    from rapport.ui.chat_panel import outbox
    from simulator.voice.base import Speaker as VoiceSpeaker

    said: list[str] = []

    class Recorder(VoiceSpeaker):
        def speak(self, text, voice=None):
            said.append(text)
            yield Audio(np.zeros(160, np.float32), RATE)

    monkeypatch.setattr(voice_panel, "speaker_for", lambda: Recorder())
    demo = build_app(library, None)
    handlers = {f.fn.__name__: f.fn for f in demo.fns.values() if f.fn is not None}
    replies = ["Farid: I waited nine days. Nine days! Teacher: I am sorry.", "Nobody called me. Not once.",
               "Fine. Go on then. I am listening."]
    session = Session(library.get("upset-parent"), ScriptedChatModel(replies=replies, delay=0.01), dynamics=False)

    async def drain():
        async for _ in handlers["on_drain"](session, False, None):
            pass

    async def speak():
        values = [json.loads(v) async for v in handlers["on_speak"](session, True)]
        return [m for i, value in enumerate(values) for m in value if i == 0 or m["id"] > values[i - 1][-1]["id"]]

    async def conversation():
        await handlers["on_accept"]("What happened?", session, False)
        first = asyncio.create_task(drain())
        voice = asyncio.create_task(speak())
        await asyncio.sleep(0.02)
        await handlers["on_accept"]("That sounds hard.", session, False)  # queued behind the first reply
        second_voice = await speak()  # a voice already follows this conversation: this one says nothing
        await first
        await drain()
        clips = await voice
        outbox(session).hushed = outbox(session).reply_serial + 1  # the learner will talk over the next reply
        await handlers["on_accept"]("Can I say something?", session, False)
        hushed = asyncio.create_task(speak())
        await drain()
        return clips, second_voice, await hushed

    from tests.test_ui_seams import _run

    clips, second_voice, hushed = _run(conversation())
    assert said == ["I waited nine days.", "Nine days!", "Nobody called me.", "Not once."]
    assert second_voice == [] and [c["serial"] for c in clips if c.get("done")] == [1, 2]
    assert [c["n"] for c in clips if "src" in c] == [1, 2, 3, 4]
    assert [c for c in hushed if "src" in c] == [] and hushed[-1]["done"] and hushed[-1]["serial"] == 3


def test_a_kept_recording_is_written_back_to_a_wav_from_the_command_line(tmp_path, library):
    import os
    import subprocess
    import sys

    env = {**os.environ, "RAPPORT_HOME": str(tmp_path)}
    store = SessionStore(f"sqlite:///{tmp_path / 'rapport.db'}")
    session = Session(library.get("upset-parent"), ScriptedChatModel(respond=lambda m: "Go on."))
    store.record(session, "local")
    list(session.send_sync("I hear you.", delivery=_spoken(150.0)))
    wav = Audio(voiced(1.0), RATE).to_wav()
    store.keep_audio(session.id, 1, wav, learner_id="local")
    dispose_all()

    def rapport(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "rapport.cli", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    shown = rapport("sessions", "show", session.id)
    assert "spoken, 150 words/min, recording kept" in shown.stdout, shown.stderr
    written = rapport("sessions", "recording", session.id, "1", "-o", str(tmp_path / "turn1.wav"))
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "turn1.wav").read_bytes() == wav
    missing = rapport("sessions", "recording", session.id, "3", "-o", str(tmp_path / "turn3.wav"))
    assert missing.returncode != 0 and "has no kept recording" in missing.stderr
    other = rapport("sessions", "recording", session.id, "1", "-o", str(tmp_path / "x.wav"), "--learner", "ben")
    assert other.returncode != 0 and not (tmp_path / "x.wav").exists()


def test_a_file_posing_as_a_playlist_is_refused_before_anything_it_names_is_opened(tmp_path):
    from simulator.voice.audio import AudioError, read_audio

    target = VOICE_DATA / "hard-for-you.wav"
    posers = {
        "concat.wav": f"ffconcat version 1.0\nfile '{target}'\n",  # would read a local file
        "stream.webm": "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=x\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 18800 RTP/AVP 0\n",  # ports
        "list.ogg": f"#EXTM3U\n#EXTINF:1,\nfile://{target}\n",
    }
    for name, text in posers.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(AudioError, match="not a recording this app can read"):
            read_audio(tmp_path / name)
    junk = bytearray(target.read_bytes())  # a WAV whose first chunk claims more bytes than the file has
    junk[12:20] = b"JUNK" + (0xFFFFFFF0).to_bytes(4, "little")
    (tmp_path / "junk.wav").write_bytes(bytes(junk))
    with pytest.raises(AudioError):
        read_audio(tmp_path / "junk.wav")
    with pytest.raises(ValueError):  # a plugin listener's impossible timings never reach the store
        Word(text="x", start=0.0, end=float("inf"))
