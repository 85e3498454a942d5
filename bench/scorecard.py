"""The offline scorecard: a 20-turn transcript once the coder is loaded, and the whole `rapport judge --offline`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .results import Result, result

LEARNER = [
    "Thanks for making time. Before anything else, how have the last few weeks been?",
    "That sounds like a lot to carry. What worries you most about it?",
    "It makes sense you'd feel wary after last time. What would need to be different?",
    "You mentioned the rollout earlier. What went wrong there, from where you sat?",
    "So the hardest part wasn't the software, it was being blamed for it.",
    "What would make this decision easy to defend to your CFO?",
    "I can set up a reference call so you can check for yourself.",
    "Honestly, we're not the right fit for every site, and I'd rather say so now.",
    "What matters most to your operations team?",
    "Would a short demo for your team be a sensible next step?",
]
PERSONA = [
    "It's been a grind. Budget meetings, mostly.", "That we make the same mistake twice.",
    "Proof. Not promises.", "Eighteen months, one site live.", "*pauses* Yes. That's it exactly.",
    "Evidence from someone like us.", "That would help.", "That's fair. Not many vendors say that.",
    "That it works on a Monday morning.", "Possibly. Send me two dates.",
]


def twenty_turns() -> dict:
    turns = []
    for persona, learner in zip(PERSONA, LEARNER):
        turns += [{"speaker": "persona", "text": persona}, {"speaker": "learner", "text": learner}]
    return {"persona": "procurement-skeptic", "turns": turns}


def run() -> list[Result]:
    from evals.offline import offline_scorecard
    from evals.rubric import load_rubric
    from simulator.persona import PersonaLibrary
    from simulator.signals import TurnReader
    from simulator.transcript import Transcript

    transcript = Transcript.model_validate(twenty_turns())
    persona = PersonaLibrary().get("procurement-skeptic")
    rubric = load_rubric(persona.rubric)
    reader = TurnReader()
    offline_scorecard(transcript, rubric, persona, reader)  # warm-up: loads the coder
    times = []
    for _ in range(5):
        started = time.perf_counter()
        offline_scorecard(transcript, rubric, persona, reader)
        times.append(time.perf_counter() - started)
    scorecard = sorted(times)[len(times) // 2]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "transcript.json"
        path.write_text(json.dumps(twenty_turns()))
        command = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "rapport.cli", "judge", str(path), "--offline"], check=True,
                           capture_output=True, env={**os.environ})
            command.append(time.perf_counter() - started)
    whole = sorted(command)[1]
    return [
        result("scorecard", "scorecard.offline20", "Offline scorecard, 20-turn transcript, coder loaded (median of 5)",
               scorecard, "s", goal="< 1 s", met=scorecard < 1),
        result("scorecard", "scorecard.command", "`rapport judge --offline`, whole command, 20 turns (median of 3)",
               whole, "s", goal="< 5 s", met=whole < 5),
    ]
