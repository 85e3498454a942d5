"""The persona wizard as data: questions, defaults and per-answer validation, independent of any UI."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..behaviours import BREAKING, BUILDING, Behaviour
from .spec import ID_PATTERN, Domain, PersonaSpec

Answers = dict[str, Any]


def slugify(text: str) -> str:
    """An id from a name: 'Dana Whitfield' -> 'dana-whitfield'."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug if len(slug) >= 3 else f"persona-{slug or 'new'}"


def split_list(text: str) -> list[str]:
    """'a; b; c' or 'a, b' -> items (semicolons win, so items may contain commas)."""
    separator = ";" if ";" in text else ","
    return [item.strip() for item in text.split(separator) if item.strip()]


@dataclass(frozen=True)
class Question:
    """One wizard prompt: the answer key, the text shown, a default, and how to check the answer."""

    key: str
    prompt: str
    default: Callable[[Answers], str] | str | None = None
    parse: Callable[[str, Answers], Any] = field(default=lambda raw, answers: raw.strip())
    optional: bool = False

    def default_for(self, answers: Answers) -> str | None:
        return self.default(answers) if callable(self.default) else self.default


def _non_empty(raw: str, answers: Answers) -> str:
    if not raw.strip():
        raise ValueError("please write something")
    return raw.strip()


def _persona_id(taken: set[str]) -> Callable[[str, Answers], str]:
    def parse(raw: str, answers: Answers) -> str:
        value = raw.strip()
        if not re.fullmatch(ID_PATTERN, value):
            raise ValueError("use 3-64 lowercase letters, digits and hyphens, like 'retired-teacher'")
        if value in taken:
            raise ValueError(f"'{value}' is already used by another persona; choose another id")
        return value

    return parse


def _domain(raw: str, answers: Answers) -> str:
    try:
        return Domain(raw.strip().lower()).value
    except ValueError:
        raise ValueError(f"choose one of: {', '.join(d.value for d in Domain)}") from None


def _items(raw: str, answers: Answers) -> list[str]:
    items = split_list(raw)
    if not items:
        raise ValueError("give at least one, separated by semicolons")
    return items


def _trust(raw: str, answers: Answers) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("give a whole number from 0 to 100") from None
    if not 0 <= value <= 100:
        raise ValueError("give a whole number from 0 to 100")
    return value


def _behaviour(allowed: frozenset[Behaviour]) -> Callable[[str, Answers], str | None]:
    def parse(raw: str, answers: Answers) -> str | None:
        value = raw.strip().lower()
        if not value:
            return None
        if value not in {b.value for b in allowed}:
            raise ValueError(f"choose one of: {', '.join(sorted(b.value for b in allowed))} (or leave empty)")
        return value

    return parse


def wizard_questions(taken_ids: set[str]) -> list[Question]:
    """The fixed questions, in order. Repeating groups (hidden items, triggers) are asked by `repeating_groups`."""
    return [
        Question("name", "Full name", parse=_non_empty),
        Question("id", "Id (lowercase, hyphens)", default=lambda a: slugify(a["name"]), parse=_persona_id(taken_ids)),
        Question("role", "Role and organisation (e.g. 'Head of Procurement, Norvale Logistics')", parse=_non_empty),
        Question("domain", f"Field ({', '.join(d.value for d in Domain)})", default="personal", parse=_domain),
        Question("summary", "One line for the persona's card", default=lambda a: a["role"], parse=_non_empty),
        Question("setting", "Where and when the conversation happens", parse=_non_empty),
        Question("learner_role", "Who the learner plays", parse=_non_empty),
        Question("learner_label", "Short label for the learner's turns", default="You", parse=_non_empty),
        Question("learner_brief", "What the learner knows beforehand (written to the learner)", parse=_non_empty),
        Question("learner_goal", "The learner's goal in this conversation", parse=_non_empty),
        Question("background", "Background: history that shapes how they react (a few sentences)", parse=_non_empty),
        Question("traits", "Personality traits (separated by semicolons)", parse=_items),
        Question("communication_style", "How they talk", parse=_non_empty),
        Question("emotional_baseline", "How they feel walking in", parse=_non_empty),
        Question("speech_examples", "A few lines in their own voice (semicolons)", parse=_items),
        Question("goals", "What they want (semicolons)", parse=_items),
        Question("concerns", "Their worries and objections (semicolons)", parse=_items),
        Question("opening_line", "Their first words", parse=_non_empty),
        Question("success", "Success looks like… (e.g. 'agrees to a follow-up demo')", parse=_non_empty),
        Question("ask_keywords", "Words the learner would use to ask for it (semicolons)", parse=_items),
        Question("success_line", "What they say when agreeing", parse=_non_empty),
        Question("failure_line", "What they say when they give up on the conversation", parse=_non_empty),
        Question("trust", "Starting trust at medium difficulty (0-100)", default="28", parse=_trust),
    ]


@dataclass(frozen=True)
class RepeatingGroup:
    """Questions asked again and again until the first one is left empty."""

    key: str
    title: str
    questions: list[Question]
    minimum: int


def repeating_groups() -> list[RepeatingGroup]:
    return [
        RepeatingGroup(
            "hidden",
            "Something they hide until trust is earned",
            [
                Question("content", "What they hide (empty to finish)", optional=True),
                Question("min_trust", "Trust needed before they share it (0-100)", default="60", parse=_trust),
            ],
            minimum=1,
        ),
        RepeatingGroup(
            "builds",
            "Something that builds rapport with them",
            [
                Question("description", "What the learner does (empty to finish)", optional=True),
                Question("behaviour", f"Matching behaviour ({', '.join(sorted(b.value for b in BUILDING))}) or empty",
                         parse=_behaviour(BUILDING), optional=True),
                Question("keywords", "Words that fire it (semicolons) or empty", parse=lambda r, a: split_list(r), optional=True),
            ],
            minimum=2,
        ),
        RepeatingGroup(
            "breaks",
            "Something that breaks rapport with them",
            [
                Question("description", "What the learner does (empty to finish)", optional=True),
                Question("behaviour", f"Matching behaviour ({', '.join(sorted(b.value for b in BREAKING))}) or empty",
                         parse=_behaviour(BREAKING), optional=True),
                Question("keywords", "Words that fire it (semicolons) or empty", parse=lambda r, a: split_list(r), optional=True),
            ],
            minimum=2,
        ),
    ]


def check_trigger(item: Answers) -> None:
    """A trigger needs a behaviour or keywords, or it can never fire."""
    if not item.get("behaviour") and not item.get("keywords"):
        raise ValueError("give a matching behaviour or some keywords, or it can never be detected")


def _presets(trust: int) -> dict[str, dict[str, Any]]:
    def preset(delta: int, patience: int, guardedness: int, verbosity: str) -> dict[str, Any]:
        clamp = lambda v: max(0, min(100, v))  # noqa: E731
        return {
            "trust": clamp(trust + delta),
            "openness": clamp(trust + delta + 5),
            "engagement": clamp(trust + delta + 15),
            "patience": patience,
            "guardedness": guardedness,
            "verbosity": verbosity,
        }

    return {"easy": preset(12, 75, 30, "moderate"), "medium": preset(0, 55, 50, "brief"), "hard": preset(-13, 30, 75, "terse")}


def assemble_persona(answers: Answers) -> PersonaSpec:
    """Turn wizard answers into a validated `PersonaSpec` (raises pydantic's ValidationError if inconsistent)."""
    a = answers
    hidden = [
        {"id": f"{slugify(' '.join(item['content'].split()[:4]))}-{n}"[:60].strip("-"), "content": item["content"],
         "condition": {"min_trust": item["min_trust"]}}
        for n, item in enumerate(a.get("hidden", []), 1)
    ]
    triggers = {
        side: [{k: v for k, v in item.items() if v} for item in a.get(side, [])] for side in ("builds", "breaks")
    }
    data = {
        "schema_version": 1,
        "id": a["id"],
        "name": a["name"],
        "role": a["role"],
        "domain": a["domain"],
        "summary": a["summary"][:200],
        "scenario": {
            "setting": a["setting"],
            "learner_role": a["learner_role"],
            "learner_label": a["learner_label"],
            "learner_brief": a["learner_brief"],
            "learner_goal": a["learner_goal"],
        },
        "background": a["background"],
        "personality": {
            "traits": a["traits"],
            "communication_style": a["communication_style"],
            "emotional_baseline": a["emotional_baseline"],
            "speech_examples": a["speech_examples"],
        },
        "goals": a["goals"],
        "concerns": a["concerns"],
        "hidden_information": hidden,
        "triggers": triggers,
        "opening_line": a["opening_line"],
        "difficulty": _presets(a["trust"]),
        "outcomes": {
            "success": {
                "description": a["success"],
                "min_trust": min(100, max(a["trust"] + 35, 60)),
                "ask_keywords": a["ask_keywords"],
                "closing_line": a["success_line"],
            },
            "failure": {
                "description": "ends the conversation",
                "max_trust": 8,
                "closing_line": a["failure_line"],
            },
        },
    }
    return PersonaSpec.model_validate(data)


def parse_answer(question: Question, raw: str, answers: Answers) -> Any:
    """Validate one answer now, so the author fixes it before moving on; raises ValueError with a message."""
    text = raw if raw.strip() or question.default_for(answers) is None else question.default_for(answers)
    try:
        return question.parse(text, answers)
    except ValidationError as exc:
        raise ValueError(exc.errors(include_url=False)[0]["msg"]) from None
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc) or "invalid answer") from None
