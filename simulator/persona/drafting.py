"""Draft a complete persona from a one-line description with a chat model; validate it; repair it once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from ..behaviours import BREAKING, BUILDING
from ..errors import Problem, RapportError
from .loader import persona_from_text
from .spec import PersonaSpec

_FENCE = re.compile(r"```(?:ya?ml)?\s*\n(.*?)```", re.DOTALL)


class DraftError(RapportError):
    """The model's draft was still invalid after one repair; the last draft is kept for the author."""

    def __init__(self, message: str, draft: str, problems: list[Problem]):
        self.draft = draft
        self.problems = problems
        super().__init__(message)


@dataclass(frozen=True)
class Draft:
    spec: PersonaSpec
    text: str
    repaired: bool


def drafting_messages(description: str, example_yaml: str, taken_ids: set[str]) -> list[BaseMessage]:
    """The prompt: the task, the vocabulary, a complete example file, and the ids already taken."""
    system = (
        "You write persona files for Rapport, a simulator in which people practise building rapport with realistic"
        " characters. Write ONE complete persona as YAML in a ```yaml code block, following the example's structure"
        " exactly (same fields, same nesting, no extra fields). Make it specific and realistic: a named organisation,"
        " a concrete history, concrete objections, 2-3 hidden items the learner must earn (each with a condition),"
        " at least 3 triggers that build and 3 that break rapport, easy/medium/hard presets whose starting trust"
        " falls from easy to hard, and success/failure outcomes.\n"
        f"Behaviours that build rapport: {', '.join(sorted(b.value for b in BUILDING))}.\n"
        f"Behaviours that break rapport: {', '.join(sorted(b.value for b in BREAKING))}.\n"
        "Domains: sales, healthcare, education, counseling, leadership, customer_service, personal, other.\n"
        f"Ids already taken (choose another): {', '.join(sorted(taken_ids)) or 'none'}."
    )
    user = f"Example persona file:\n```yaml\n{example_yaml}```\n\nNow write a persona for: {description}"
    return [SystemMessage(system), HumanMessage(user)]


def extract_yaml(reply: str) -> str:
    """The YAML inside the first fenced block of `reply` (or the whole reply if there is none)."""
    match = _FENCE.search(reply)
    return (match.group(1) if match else reply).strip() + "\n"


def check_draft(text: str, taken_ids: set[str], label: str = "draft") -> tuple[PersonaSpec | None, list[Problem]]:
    """Validate a draft; returns the spec or the located problems."""
    spec, problems = persona_from_text(text, label)
    if spec is not None and spec.id in taken_ids:
        return None, [Problem(label, 3, "id", f"'{spec.id}' is already taken; choose another id")]
    return spec, problems


async def draft_persona(
    description: str, model: BaseChatModel, *, example_yaml: str, taken_ids: set[str]
) -> Draft:
    """Ask `model` for a persona; if it is invalid, send the errors back once and validate the repair."""
    messages = drafting_messages(description, example_yaml, taken_ids)
    reply = str((await model.ainvoke(messages)).content)
    text = extract_yaml(reply)
    spec, problems = check_draft(text, taken_ids)
    if spec is not None:
        return Draft(spec, text, repaired=False)
    repair = (
        "That file does not validate. Fix every one of these errors and send the complete corrected file in one"
        " ```yaml block:\n" + "\n".join(str(p) for p in problems)
    )
    reply = str((await model.ainvoke(messages + [AIMessage(reply), HumanMessage(repair)])).content)
    text = extract_yaml(reply)
    spec, problems = check_draft(text, taken_ids)
    if spec is not None:
        return Draft(spec, text, repaired=True)
    raise DraftError(
        f"the drafted persona is still invalid after one repair ({len(problems)} error(s))", text, problems
    )


def with_schema_header(text: str) -> str:
    from .writer import SCHEMA_HEADER

    return text if text.startswith("# yaml-language-server") else SCHEMA_HEADER + text


def save_draft_for_fixing(text: str, directory: Path) -> Path:
    """Keep an invalid draft where the author can fix it by hand."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "draft-needs-fixing.yaml"
    path.write_text(with_schema_header(text), encoding="utf-8")
    return path
