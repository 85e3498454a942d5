"""The persona file format: pydantic models whose field descriptions document the YAML.

`rapport personas schema` writes these models as JSON Schema, so editors validate persona files.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..behaviours import Behaviour
from ..unique import require_unique_ids
from ..voice.persona_voice import PersonaVoice

SCHEMA_VERSION = 1
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$"


class SpecModel(BaseModel):
    """Base of every persona-file model: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=False)


class Domain(StrEnum):
    """The field of practice a persona belongs to."""

    SALES = "sales"
    HEALTHCARE = "healthcare"
    EDUCATION = "education"
    COUNSELING = "counseling"
    LEADERSHIP = "leadership"
    CUSTOMER_SERVICE = "customer_service"
    PERSONAL = "personal"
    OTHER = "other"


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Scenario(SpecModel):
    setting: str = Field(description="Where and when the conversation happens, and what led to it.")
    learner_role: str = Field(description="Who the learner plays, e.g. 'Account executive at Brightline Software'.")
    learner_label: str = Field(
        default="You",
        max_length=40,
        description="Short name shown for the learner's turns in the transcript, e.g. 'Dr. Okafor' or 'Sam'.",
    )
    learner_brief: str = Field(description="What the learner knows before starting, written to the learner.")
    learner_goal: str = Field(default="", description="What the learner is trying to achieve in this conversation.")


class Personality(SpecModel):
    traits: list[str] = Field(min_length=1, description="Adjectives or short phrases, e.g. 'methodical', 'dry humour'.")
    communication_style: str = Field(description="How this person talks: pace, formality, length, quirks.")
    emotional_baseline: str = Field(description="How they feel walking into this conversation.")
    speech_examples: list[str] = Field(
        default_factory=list,
        description="A few lines in this person's own voice; they anchor the model's tone.",
    )


class DisclosureCondition(SpecModel):
    """When a hidden item may be shared. Every part that is given must hold."""

    min_trust: int | None = Field(default=None, ge=0, le=100, description="Trust (0-100) at or above which it is shared.")
    after_behaviours: list[Behaviour] = Field(
        default_factory=list,
        description="Shared only once the learner has shown at least one of these behaviours.",
    )

    @model_validator(mode="after")
    def _needs_a_condition(self) -> "DisclosureCondition":
        if self.min_trust is None and not self.after_behaviours:
            raise ValueError("give min_trust, after_behaviours, or both")
        return self


class HiddenItem(SpecModel):
    id: str = Field(pattern=ID_PATTERN, description="Stable id, used by suites and reports.")
    content: str = Field(description="What the persona knows but will not say until the condition holds.")
    condition: DisclosureCondition


class Trigger(SpecModel):
    """A learner behaviour that moves this persona's trust more than it would move an average person's."""

    description: str = Field(description="What the learner does, in this persona's terms.")
    behaviour: Behaviour | None = Field(default=None, description="The behaviour from Rapport's vocabulary it matches.")
    keywords: list[str] = Field(
        default_factory=list, description="Words or phrases that fire this trigger when the learner uses them."
    )
    weight: float = Field(default=1.5, gt=0, le=5, description="How much it matters to this persona (1 = average).")

    @model_validator(mode="after")
    def _needs_a_matcher(self) -> "Trigger":
        if self.behaviour is None and not self.keywords:
            raise ValueError("give a behaviour, keywords, or both, so the trigger can be detected")
        return self


class Triggers(SpecModel):
    builds: list[Trigger] = Field(description="What builds rapport with this persona.")
    breaks: list[Trigger] = Field(description="What breaks rapport with this persona.")


class Verbosity(StrEnum):
    TERSE = "terse"
    BRIEF = "brief"
    MODERATE = "moderate"
    TALKATIVE = "talkative"


class DifficultyPreset(SpecModel):
    """Starting state and temperament at one difficulty."""

    trust: int = Field(ge=0, le=100, description="Starting trust in the learner (0-100).")
    openness: int = Field(ge=0, le=100, description="Starting willingness to talk about themselves (0-100).")
    engagement: int = Field(ge=0, le=100, description="Starting interest in the conversation (0-100).")
    patience: int = Field(ge=0, le=100, description="How much rapport-breaking they tolerate before leaving (0-100).")
    guardedness: int = Field(ge=0, le=100, description="How hard hidden items are to earn; 50 = as written (0-100).")
    verbosity: Verbosity = Field(description="How much they say per reply.")


class DifficultyPresets(SpecModel):
    easy: DifficultyPreset
    medium: DifficultyPreset
    hard: DifficultyPreset


class SuccessOutcome(SpecModel):
    description: str = Field(description="What success looks like, e.g. 'agrees to a follow-up demo'.")
    min_trust: int = Field(ge=0, le=100, description="Trust needed before the persona agrees.")
    ask_keywords: list[str] = Field(
        default_factory=list,
        description="Words by which the learner asks for the commitment; the persona agrees only when asked.",
    )
    requires_hidden: list[str] = Field(
        default_factory=list, description="Hidden item ids that must have been shared first."
    )
    closing_line: str = Field(description="What the persona says when agreeing.")


class FailureOutcome(SpecModel):
    description: str = Field(description="What failure looks like, e.g. 'ends the meeting early'.")
    max_trust: int = Field(ge=0, le=100, description="At or below this trust the persona ends the conversation.")
    closing_line: str = Field(description="What the persona says when leaving.")


class Outcomes(SpecModel):
    success: SuccessOutcome
    failure: FailureOutcome


class KnowledgeEntry(SpecModel):
    id: str = Field(pattern=ID_PATTERN)
    keywords: list[str] = Field(default_factory=list, description="Words that make this entry relevant.")
    content: str = Field(description="A fact this persona knows and can talk about when it comes up.")


class PersonaSpec(SpecModel):
    """A practice partner: who they are, what they hide, and what builds or breaks rapport with them."""

    schema_version: Literal[1] = Field(description="Version of this file format; currently 1.")
    id: str = Field(pattern=ID_PATTERN, description="Lowercase words joined by hyphens, unique across personas.")
    name: str = Field(min_length=1, max_length=80)
    role: str = Field(description="Title and organisation, e.g. 'Head of Procurement, Norvale Logistics'.")
    domain: Domain
    summary: str = Field(max_length=200, description="One line shown on the persona's card.")
    scenario: Scenario
    background: str = Field(description="Life and work history that shapes how they react; a few sentences at least.")
    personality: Personality
    goals: list[str] = Field(min_length=1, description="What they want, from this conversation and beyond it.")
    concerns: list[str] = Field(min_length=1, description="Objections and worries they bring to the conversation.")
    hidden_information: list[HiddenItem] = Field(
        default_factory=list, description="What they know but only share once it is earned."
    )
    triggers: Triggers
    opening_line: str = Field(
        default="", description="The persona's first words; leave empty to let the learner open the conversation."
    )
    alternate_openings: list[str] = Field(
        default_factory=list, description="Other first lines this persona might open with (a card's alternate greetings)."
    )
    difficulty: DifficultyPresets
    outcomes: Outcomes
    nonverbal_cues: list[str] = Field(
        default_factory=list,
        description="Stage directions typical of this person, e.g. '*glances at the clock*'.",
    )
    knowledge: list[KnowledgeEntry] = Field(default_factory=list, description="Facts retrieved when relevant.")
    rubric: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
        description="Id of the rubric that grades conversations with this persona (default: 'default').",
    )
    voice: PersonaVoice | None = Field(
        default=None,
        description="How this person sounds in voice practice: pitch (semitones), rate (1.0 = the voice's own pace) "
        "and, for an online speech endpoint, a voice name. Without it the default voice is used.",
    )
    card_extensions: dict[str, Any] = Field(
        default_factory=dict,
        description="Character Card fields Rapport does not use, kept so that exporting the card gives them back.",
    )

    @field_validator("nonverbal_cues")
    @classmethod
    def _cues_are_stage_directions(cls, cues: list[str]) -> list[str]:
        for cue in cues:
            if not re.fullmatch(r"\*[^*]+\*", cue):
                raise ValueError(f"write each cue between asterisks, like '*leans in*' (got {cue!r})")
        return cues

    @field_validator("hidden_information")
    @classmethod
    def _hidden_ids_unique(cls, items: list[HiddenItem]) -> list[HiddenItem]:
        require_unique_ids((item.id for item in items), "hidden item")
        return items

    @field_validator("outcomes")
    @classmethod
    def _required_items_exist(cls, outcomes: Outcomes, info: ValidationInfo) -> Outcomes:
        known = {item.id for item in info.data.get("hidden_information", [])}
        unknown = [i for i in outcomes.success.requires_hidden if i not in known]
        if unknown:
            raise ValueError(f"success.requires_hidden names unknown hidden items: {', '.join(unknown)}")
        return outcomes

    @property
    def short_name(self) -> str:
        """How the persona is labelled in a script: a quoted nickname ('Peggy') or the first name."""
        nickname = re.search(r'"([^"]+)"', self.name)
        return nickname.group(1) if nickname else self.name.split()[0]

    def preset(self, difficulty: Difficulty | str) -> DifficultyPreset:
        """The preset for `difficulty` ('easy', 'medium' or 'hard')."""
        return getattr(self.difficulty, Difficulty(difficulty).value)
