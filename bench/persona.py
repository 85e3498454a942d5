"""The person on the other side, offline: every embedded model plays every bundled persona through scripted
learner lines (bench/persona_lines.yaml), in one run.

Per model: how often each reply guard fires before and after the one regeneration, and what is stored; whether
hidden items are brought up within two replies of being earned; first text and whole reply p50/p95 after the
warmed start; and prompt tokens llama.cpp evaluates per turn, with the cached prefix and without it.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from pathlib import Path

from .results import Result, result

LINES = Path(__file__).with_name("persona_lines.yaml")
TRANSCRIPTS = os.environ.get("RAPPORT_BENCH_TRANSCRIPTS", "")  # a folder to keep each conversation in, if set
TURNS = 5


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=20)[q] if len(values) >= 2 else (values[0] if values else 0.0)


def _converse(model_name: str, lines: dict[str, list[str]], meter) -> dict:
    from simulator.models import chat_model_for
    from simulator.persona import PersonaLibrary
    from simulator.reply_plan import mentions
    from simulator.session import Delta, Session

    spec, model = chat_model_for("persona", f"embedded:{model_name}")
    library = PersonaLibrary()
    firsts, wholes, warms, checks, evaluated, whole_prompts = [], [], [], [], [], []
    earned, told = 0, 0
    for number, (persona_id, script) in enumerate(sorted(lines.items())):
        persona = library.get(persona_id)
        started = time.perf_counter()
        session = Session(persona, model.model_copy(update={"seed": 100 + number}), model_spec=spec)
        if session.warming is not None:
            session.warming.join()
        warms.append(time.perf_counter() - started)
        for line in script[:TURNS]:
            before = len(meter.calls)
            started, first = time.perf_counter(), None
            cue = session._cue  # noqa: SLF001 - the stage direction is the engine's, not the model's text
            events = session.send_sync(line)
            lead = None
            for event in events:
                if isinstance(event, Delta) and first is None:
                    if lead is None and (c := cue()) and event.text == c + " ":
                        lead = c
                        continue
                    first = time.perf_counter() - started
            wholes.append(time.perf_counter() - started)
            firsts.append(first if first is not None else wholes[-1])
            for prompt, done in meter.calls[before:]:
                whole_prompts.append(prompt)
                evaluated.append(done)
            if session.ended:
                break
        checks.extend(session.reply_checks)
        if TRANSCRIPTS:  # for a blind panel: the conversation only, nothing that names the model
            folder = Path(TRANSCRIPTS) / model_name
            folder.mkdir(parents=True, exist_ok=True)
            label = persona.scenario.learner_label
            (folder / f"{persona_id}.md").write_text(f"# {persona.name}, {persona.role}\n\n" + "\n\n".join(
                f"**{persona.short_name if t.speaker == 'persona' else label}:** {t.text}" for t in session.turns))
        items = {i.id: i for i in persona.hidden_information}
        for appraisal in session.trajectory:
            for item_id in appraisal.unlocked:
                replies = [t.text for t in session.turns[appraisal.turn + 1:] if t.speaker == "persona"][:2]
                if replies:
                    earned += 1
                    told += any(mentions(items[item_id], persona, r) for r in replies)
    return {"firsts": firsts, "wholes": wholes, "warms": warms, "checks": checks, "evaluated": evaluated,
            "prompts": whole_prompts, "earned": earned, "told": told}


def run() -> list[Result]:
    from simulator.data_files import load_yaml
    from simulator.models import gguf_catalog

    from simulator.testing.llama_meter import metered

    lines = load_yaml(LINES.read_text(), LINES, round_trip=False)["personas"]
    rows = []
    for choice in gguf_catalog.choices():
        if not choice.installed:
            continue
        name = choice.name
        with metered() as meter:
            found = _converse(name, lines, meter)
        replies = len(found["checks"])
        first = Counter(n for c in found["checks"] for n in set(c.first))
        stored = Counter(n for c in found["checks"] for n in set(c.stored))
        fired = sum(1 for c in found["checks"] if c.first)
        kept = sum(1 for c in found["checks"] if c.stored)
        default = choice.default
        f50, f95 = statistics.median(found["firsts"]), _p(found["firsts"], 18)
        w50, w95 = statistics.median(found["wholes"]), _p(found["wholes"], 18)
        tag = f"embedded:{name}"
        rows += [
            result("persona", f"persona.{name}.first_text", f"{tag}: first text of a reply after the warmed start"
                   f" (p50 / p95, {replies} replies, {len(lines)} personas)", f50, "s", figure=f"{f50:.2f} / {f95:.2f} s",
                   anchor=f"persona prompt read at session start in {statistics.median(found['warms']):.1f} s (median)",
                   goal="p50 ≤ 1.5 s" if default else "", met=(f50 <= 1.5) if default else None),
            result("persona", f"persona.{name}.reply", f"{tag}: whole reply (p50 / p95)", w50, "s",
                   figure=f"{w50:.2f} / {w95:.2f} s", goal="p50 ≤ 5 s" if default else "",
                   met=(w50 <= 5) if default else None),
            result("persona", f"persona.{name}.guards", f"{tag}: replies with a guard firing, first attempt → stored",
                   100 * kept / max(1, replies), "%", figure=f"{100 * fired / max(1, replies):.0f} % → "
                   f"{100 * kept / max(1, replies):.1f} %",
                   anchor="first: " + (", ".join(f"{k} {v}" for k, v in first.most_common()) or "none")
                   + "; stored: " + (", ".join(f"{k} {v}" for k, v in stored.most_common()) or "none"),
                   goal="stored ≤ 2 %" if default else "", met=(kept / max(1, replies) <= 0.02) if default else None),
            result("persona", f"persona.{name}.told", f"{tag}: earned hidden items brought up within two replies",
                   100 * found["told"] / max(1, found["earned"]), "%",
                   figure=f"{found['told']} of {found['earned']}"),
            result("persona", f"persona.{name}.tokens", f"{tag}: prompt tokens read per turn, cached prefix vs none"
                   " (median)", statistics.median(found["evaluated"] or [0]), "tokens",
                   figure=f"{statistics.median(found['evaluated'] or [0]):.0f} vs "
                   f"{statistics.median(found['prompts'] or [0]):.0f} tokens"),
        ]
    return rows
