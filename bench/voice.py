"""Voice practice on this machine, all offline: how fast and how well Whisper base hears the shipped recordings,
how soon the Piper joe voice starts speaking, and the whole loop from the end of the learner's speech to the first
audio of the persona's reply (Whisper → the default embedded persona model, streamed → Piper).

`python -m bench.voice` runs it, adds its rows to docs/benchmarks.json and rewrites
docs/benchmarks.md (its notes are in bench/notes.md). The recordings are tests/data/voice (espeak-ng, see its README).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from simulator.voice.accuracy import edit_distance, words

from .results import Result, machine, merge, result, write

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "voice"
PERSONA = "grieving-friend"  # the shipped learner lines are supportive ones; this persona has a voice block
NOISE_SNR_DB = 15.0
TURNS = 10
REPLIES = [  # persona-like replies for time to first audio: one to four sentences each
    "I don't know. It's been a long week.",
    "Honestly? I'm tired. I keep thinking about what I should have said to him.",
    "Thanks for asking. Most people just change the subject.",
    "Maybe. I haven't really decided anything yet.",
    "It's fine. Well, it's not fine, but you know what I mean.",
    "We used to walk the dog together every Sunday. Now I can't face the park.",
    "I appreciate that. I just need a bit of time, I think.",
    "Sorry, I'm not great company at the moment. Can we talk about something else for a minute?",
    "He would have laughed at all of this. He never took anything too seriously.",
    "No, I haven't eaten. I'm not really hungry these days.",
    "That's kind of you. I might take you up on that.",
    "Work has been patient with me, which helps. My manager even sent flowers.",
    "I keep the phone on in case someone calls. I know that sounds silly.",
    "Yes, the funeral was on Tuesday. It was smaller than I expected.",
    "I'm okay. Really. Well, most days.",
    "Some days are better than others. Today is not one of the good ones.",
    "My sister keeps calling. I don't always pick up.",
    "Do you think it gets easier? Everyone says it does.",
    "I found his old letters last night. I read them all, twice.",
    "I don't want to be a burden, that's all.",
]


def recordings():  # noqa: ANN201
    from ruamel.yaml import YAML

    from simulator.voice.audio import read_audio

    reference = YAML(typ="safe").load((DATA / "transcripts.yaml").read_text(encoding="utf-8"))
    return [(name, read_audio(DATA / name), text) for name, text in reference.items()]


def hearing(listener, clips) -> tuple[float, list[float], int, int, list[str]]:  # noqa: ANN001
    """(seconds of audio, real-time factor per clip, word errors, reference words, misheard lines)."""
    factors, errors, total, misheard = [], 0, 0, []
    for _name, audio, reference in clips:
        started = time.perf_counter()
        heard = listener.listen(audio)
        factors.append(audio.duration / (time.perf_counter() - started))
        wrong = edit_distance(words(reference), words(heard.text))
        errors, total = errors + wrong, total + len(words(reference))
        if wrong:
            misheard.append(heard.text)
    return sum(a.duration for _, a, _ in clips), factors, errors, total, misheard


def with_noise(clips, snr_db: float):  # noqa: ANN001, ANN201
    from simulator.voice import Audio

    rng = np.random.default_rng(15)
    noisy = []
    for name, audio, text in clips:
        power = float(np.mean(audio.samples**2))
        noise = rng.standard_normal(len(audio.samples)) * np.sqrt(power / 10 ** (snr_db / 10))
        noisy.append((name, Audio(np.clip(audio.samples + noise, -1, 1).astype(np.float32), audio.sample_rate), text))
    return noisy


def first_audio(speaker, voice) -> list[float]:  # noqa: ANN001
    """Seconds from `speak()` to the first chunk, for each reply."""
    times = []
    for reply in REPLIES:
        started = time.perf_counter()
        chunks = speaker.speak(reply, voice)
        next(chunks)
        times.append(time.perf_counter() - started)
        for _ in chunks:  # the rest, untimed
            pass
    return times


def conversation_turns(listener, speaker, clips) -> list[dict[str, float]]:  # noqa: ANN001
    """End of speech to first reply audio, on the app's path: hear the recording and measure its delivery, stream
    the embedded model's reply through the app's `ReplyVoice` (only finished, in-character sentences are spoken)
    and synthesise the first one. The rest of the reply is drained untimed. Not included: the browser's upload
    and the app's 50 ms polling of the stream."""
    from simulator.models import chat_model_for
    from simulator.persona import PersonaLibrary
    from simulator.session import Delta, ReplyDone, Reset, Session
    from simulator.voice.delivery import measure
    from simulator.voice.follow import ReplyVoice

    spec, model = chat_model_for("persona", "embedded")
    persona = PersonaLibrary().get(PERSONA)
    voice = getattr(persona, "voice", None)
    session = Session(persona, model, model_spec=spec)  # as the app runs it, stage directions and all
    if session.warming is not None:  # the persona's instructions are read while the learner reads the brief
        session.warming.join()
    timings = []
    for turn in range(TURNS):
        _name, audio, _text = clips[turn % len(clips)]
        started = time.perf_counter()  # the learner has stopped speaking
        heard = listener.listen(audio)
        delivery = measure(heard, audio)
        heard_at = time.perf_counter()
        follower = ReplyVoice(session.speaker_labels(), heard.text)
        text, sentence_at, audio_at = "", None, None
        for event in session.send_sync(heard.text or "Sorry, go on.", delivery=delivery):
            ready = []
            if isinstance(event, Reset):
                text = ""
                follower.restart()
            elif isinstance(event, Delta):
                text += event.text
                ready = follower.ready(text)
            elif isinstance(event, ReplyDone):
                ready = follower.ready(event.turn.text, complete=True)
            if ready and audio_at is None:
                sentence_at = time.perf_counter()
                next(speaker.speak(ready[0], voice), None)
                audio_at = time.perf_counter()
        if audio_at is None:  # nothing speakable (a reply of stage directions only): count to the stream's end
            sentence_at = audio_at = time.perf_counter()
        timings.append({"listen": heard_at - started, "reply": sentence_at - heard_at, "speak": audio_at - sentence_at,
                        "total": audio_at - started})
        if session.ended:
            break
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


def run() -> list[Result]:
    import simulator.voice.offline as offline
    from simulator.voice.offline import PiperSpeaker, WhisperListener
    from simulator.voice.persona_voice import PersonaVoice

    started = time.perf_counter()
    listener = WhisperListener()
    listen_load = time.perf_counter() - started
    clips = recordings()
    listener.listen(clips[0][1])  # warm-up: the first call pays for lazy set-up
    seconds, factors, errors, total, misheard = hearing(listener, clips)
    _, _, noisy_errors, _, _ = hearing(listener, with_noise(clips, NOISE_SNR_DB))
    trimmed = offline.MIN_WINDOW_FRAMES, offline.WINDOW_MARGIN_FRAMES
    offline.MIN_WINDOW_FRAMES = offline.WINDOW_MARGIN_FRAMES = offline.FULL_WINDOW_FRAMES  # Whisper's own 30 s
    try:
        _, full_factors, full_errors, _, _ = hearing(listener, clips)
        _, _, full_noisy_errors, _, _ = hearing(listener, with_noise(clips, NOISE_SNR_DB))
    finally:
        offline.MIN_WINDOW_FRAMES, offline.WINDOW_MARGIN_FRAMES = trimmed

    started = time.perf_counter()
    speaker = PiperSpeaker()
    speak_load = time.perf_counter() - started
    next(speaker.speak("Warming up."))
    plain = first_audio(speaker, PersonaVoice())
    pitched = first_audio(speaker, PersonaVoice(pitch=-1.5, rate=0.85))

    turns = conversation_turns(listener, speaker, clips)
    total_p50 = statistics.median(t["total"] for t in turns)
    parts = {k: statistics.median(t[k] for t in turns) for k in ("listen", "reply", "speak")}

    rtf = statistics.median(factors)
    wer = errors / total
    return [
        result("voice", "voice.listen_rtf", f"Offline listener (Whisper base int8, beam 5, trimmed window) on the "
               f"{len(clips)} shipped recordings ({seconds:.0f} s): real-time factor (median)", rtf, "× real time",
               figure=f"{rtf:.1f}× (slowest {min(factors):.1f}×)",
               anchor=f"Whisper's full 30 s window: {statistics.median(full_factors):.1f}×; model load {listen_load:.1f} s",
               goal="≥ 4×", met=rtf >= 4),
        result("voice", "voice.listen_wer", f"Offline listener word error rate, shipped espeak-ng recordings ({total} words)",
               wer, "", figure=f"{wer:.3f} ({errors} / {total} words)",
               anchor=f"full 30 s window: {full_errors / total:.3f}; with white noise at {NOISE_SNR_DB:.0f} dB SNR: "
               f"{noisy_errors / total:.3f} (full window {full_noisy_errors / total:.3f}); misheard: "
               + "; ".join(f"“{m}”" for m in misheard)),
        result("voice", "voice.first_audio", f"Offline voice (Piper joe on onnxruntime), time to first audio of a reply, "
               f"{len(REPLIES)} replies of 1-4 sentences (p50 / p95)", statistics.median(plain) * 1000, "ms",
               figure=f"{statistics.median(plain) * 1000:.0f} / {p95(plain) * 1000:.0f} ms",
               anchor=f"with pitch -1.5 and rate 0.85: {statistics.median(pitched) * 1000:.0f} / "
               f"{p95(pitched) * 1000:.0f} ms; voice load {speak_load:.1f} s",
               goal="p50 < 0.5 s", met=statistics.median(plain) < 0.5),
        result("voice", "voice.turn_latency", f"End of the learner's speech to the first audio of the reply, all "
               f"embedded (Whisper → the default persona model streamed → Piper), {len(turns)} turns (p50)", total_p50, "s",
               figure=f"{total_p50:.2f} s (p95 {p95([t['total'] for t in turns]):.2f} s)",
               anchor=f"medians: hearing {parts['listen']:.2f} s, reply's first sentence {parts['reply']:.2f} s, "
               f"speaking it {parts['speak']:.2f} s",
               goal="p50 < 3 s", met=total_p50 < 3),
    ]


def main() -> None:
    rows = run()
    write(merge(rows))  # the table, with bench/notes.md (its "Voice" notes) after it
    print(f"machine: {machine()}")
    for row in rows:
        print(f"{row.what}: {row.figure}" + (f" [{row.anchor}]" if row.anchor else ""))


if __name__ == "__main__":
    main()
