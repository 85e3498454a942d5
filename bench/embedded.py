"""The default embedded model on llama.cpp: load time, time to first token, tokens per second, a persona reply."""

from __future__ import annotations

import statistics
import time

from .results import Result, result

TURNS = [
    "Thanks for coming in, Tomasz. How have the last few weeks been since the diagnosis?",
    "That sounds like a lot to take in. What worries you most about the tablets?",
    "It makes sense to be wary. What have you heard about metformin?",
    "You mentioned your dad. What was that like for your family?",
    "What would help you feel ready to try the tablets?",
]


def run() -> list[Result]:
    from simulator.models import chat_model_for
    from simulator.persona import PersonaLibrary
    from simulator.session import Delta, Session

    spec, model = chat_model_for("persona", "embedded")
    started = time.perf_counter()
    from simulator.models.embedded import load_llama

    llama = load_llama(__import__("pathlib").Path(model.model_path))
    load = time.perf_counter() - started
    text = "The following is a transcript of a conversation in a clinic.\nNurse: How are you today?\nPatient:"
    started = time.perf_counter()
    first = None
    tokens = 0
    for chunk in llama.create_completion(text, max_tokens=64, temperature=0.7, stream=True, seed=1):
        tokens += 1
        first = first or time.perf_counter() - started
    generation = time.perf_counter() - started - first
    per_second = (tokens - 1) / generation if generation > 0 else 0.0

    persona = PersonaLibrary().get("diabetes-newly-diagnosed")
    replies, firsts, words = [], [], []
    for seed in (1, 2, 3):
        session = Session(persona, model.model_copy(update={"seed": seed}), model_spec=spec, nonverbal=False)
        for line in TURNS:
            started = time.perf_counter()
            first_delta = None
            for event in session.send_sync(line):
                if isinstance(event, Delta) and first_delta is None:
                    first_delta = time.perf_counter() - started
            replies.append(time.perf_counter() - started)
            firsts.append(first_delta or 0.0)
            words.append(len(session.turns[-1].text.split()))
            if session.ended:
                break
    p50 = statistics.median(replies)
    p95 = statistics.quantiles(replies, n=20)[18]
    return [
        result("embedded", "embedded.load", f"Embedded model load ({spec.label}, llama.cpp)", load, "s"),
        result("embedded", "embedded.ttft", "Embedded model, time to first token (short prompt)", first * 1000, "ms"),
        result("embedded", "embedded.tps", "Embedded model, generation speed", per_second, "tokens/s"),
        result("embedded", "embedded.reply", f"Persona reply on the embedded model, {len(replies)} turns (p50 / p95)",
               p50, "s", figure=f"{p50:.2f} / {p95:.2f} s", anchor=f"mean reply {statistics.fmean(words):.0f} words; "
               f"first text after {statistics.median(firsts):.2f} s (median)"),
    ]
