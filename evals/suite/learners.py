"""Simulated learners: the `learner` model role plays a learner profile against a persona."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict

from simulator.data_files import read_yaml_file
from simulator.fidelity import clean_reply
from simulator.models import prompt_style
from simulator.persona.spec import PersonaSpec
from simulator.transcript import Speaker, Turn

_STAGE_DIRECTION = re.compile(r"\*[^*]*\*")
PROFILES_FILE = Path(__file__).resolve().parent.parent / "learner_profiles.yaml"


class LearnerProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    skill: str
    style: str
    lines: list[str] = []


@cache
def learner_profiles() -> dict[str, LearnerProfile]:
    data = read_yaml_file(PROFILES_FILE, round_trip=False)
    return {p["id"]: LearnerProfile.model_validate(p) for p in data["profiles"]}


def resolve_profile(text: str) -> LearnerProfile:
    """A bundled profile by id, or a free description used as the style."""
    return learner_profiles().get(text) or LearnerProfile(id="custom", name=text[:40], skill="unknown", style=text)


def learner_messages(persona: PersonaSpec, profile: LearnerProfile, turns: list[Turn], style: str) -> list[BaseMessage]:
    """The prompt for the learner's next line, seen from the learner's side of the conversation."""
    s = persona.scenario
    label = s.learner_label
    if style == "transcript":
        lines = [
            f"The following is a transcript of a conversation between {s.learner_role} (\"{label}\") and"
            f" {persona.name}, {persona.role}.",
            s.setting,
            f"{label} wants to: {s.learner_goal or s.learner_brief}",
            f"{label}'s manner: {profile.style}",
        ]
        lines += [f'{label} might say: "{line}"' for line in profile.lines[:2]]
        messages: list[BaseMessage] = [SystemMessage("\n".join(lines) + "\n")]
        for turn in turns[-12:]:
            if turn.speaker is Speaker.LEARNER:
                messages.append(AIMessage(content=turn.text, name=label))
            else:
                messages.append(HumanMessage(content=turn.text, name=persona.short_name))
        messages.append(AIMessage(content="", name=label))  # the speaker to continue as
        return messages
    system = (
        f"You are role-playing a learner in a practice conversation. You are {s.learner_role}.\n"
        f"The situation: {s.setting}\nWhat you know beforehand: {s.learner_brief}\n"
        f"Your goal: {s.learner_goal or 'build rapport'}\n"
        f"How you behave (stay true to this, even when it does not work): {profile.style}\n"
        "Write only your next line of dialogue, one to three sentences, in plain spoken words: no narration, no"
        " stage directions, no quotation marks. Never mention that this is a role-play."
    )
    messages = [SystemMessage(system)]
    for turn in turns[-12:]:
        cls = AIMessage if turn.speaker is Speaker.LEARNER else HumanMessage
        messages.append(cls(content=turn.text))
    if not turns or turns[-1].speaker is Speaker.LEARNER:
        messages.append(HumanMessage(content="(The other person is waiting for you to speak.)"))
    return messages


class SimulatedLearner:
    """Produces the learner's next line with the learner model."""

    def __init__(self, model: BaseChatModel, persona: PersonaSpec, profile: LearnerProfile):
        self.model, self.persona, self.profile = model, persona, profile

    async def next_line(self, turns: list[Turn]) -> str:
        """The learner's next words (stage directions removed: the learner only speaks); '' if it has none."""
        style = prompt_style(self.model)
        labels = [self.persona.scenario.learner_label, self.persona.short_name, self.persona.name]
        for _ in range(2):  # small models sometimes answer with a stage direction only; ask once more
            reply = await self.model.ainvoke(learner_messages(self.persona, self.profile, turns, style), max_tokens=90)
            line = " ".join(_STAGE_DIRECTION.sub(" ", clean_reply(str(reply.content), labels)).split())
            if line:
                return line
        return ""
