"""Quality warnings that validation cannot catch: a persona can be valid and still thin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..yaml_source import line_of, load_yaml, read_text, validate_yaml_file
from .spec import PersonaSpec

MIN_TRIGGERS = 4
MIN_BACKGROUND_SENTENCES = 3
_GOAL_WORDS = re.compile(r"\b(goal|aim|try to|trying to|your job|you want to|you need to|so that)\b", re.IGNORECASE)


def _sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if len(s.split()) >= 3])


def lint_spec(spec: PersonaSpec) -> list[tuple[tuple[Any, ...], str]]:
    """(field location, warning) pairs for `spec`."""
    warnings: list[tuple[tuple[Any, ...], str]] = []
    if not spec.hidden_information:
        warnings.append((("hidden_information",), "no hidden information: give the learner something to earn"))
    total = len(spec.triggers.builds) + len(spec.triggers.breaks)
    if total < MIN_TRIGGERS:
        warnings.append((("triggers",), f"only {total} triggers; give at least {MIN_TRIGGERS} (what builds and what breaks rapport)"))
    for side in ("builds", "breaks"):
        if not getattr(spec.triggers, side):
            warnings.append((("triggers", side), f"no '{side}' triggers"))
    if not spec.opening_line.strip():
        warnings.append((("opening_line",), "no opening line: the learner will have to speak first"))
    if _sentences(spec.background) < MIN_BACKGROUND_SENTENCES:
        warnings.append((("background",), f"background is under {MIN_BACKGROUND_SENTENCES} sentences; a concrete history makes the persona react believably"))
    scenario = spec.scenario
    if not scenario.learner_goal.strip() and not _GOAL_WORDS.search(scenario.learner_brief):
        warnings.append((("scenario", "learner_goal"), "the brief does not state the learner's goal; set scenario.learner_goal"))
    if not spec.personality.speech_examples:
        warnings.append((("personality", "speech_examples"), "no speech examples: a few lines in their voice anchor the tone"))
    presets = [spec.difficulty.easy, spec.difficulty.medium, spec.difficulty.hard]
    if not presets[0].trust > presets[1].trust > presets[2].trust:
        warnings.append((("difficulty",), "starting trust should fall from easy to medium to hard"))
    if presets[0] == presets[2]:
        warnings.append((("difficulty",), "easy and hard presets are identical, so difficulty changes nothing"))
    if not spec.outcomes.success.ask_keywords:
        warnings.append((("outcomes", "success", "ask_keywords"), "no ask_keywords: the learner cannot ask for the commitment"))
    return warnings


def lint_file(path: Path) -> list[Problem]:
    """Warnings for one persona file, located like validation errors (the file must already be valid)."""
    spec = validate_yaml_file(path, PersonaSpec)
    return located_warnings(spec, load_yaml(read_text(path), path), str(path))


def located_warnings(spec: PersonaSpec, data: Any, label: str) -> list[Problem]:
    """`lint_spec` warnings with the line of each field in the YAML `data` they came from."""
    return [
        Problem(label, line_of(data, loc), ".".join(str(p) for p in loc), message) for loc, message in lint_spec(spec)
    ]
