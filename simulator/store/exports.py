"""The portable session file (`rapport sessions export`), validated as strictly as everything the store writes.

An import is untrusted input: every part is checked with the model the rest of Rapport uses for it
(PersonaSpec, Turn, TurnAppraisal, MemoryItem) and against the others (same persona, appraisals of learner
turns that exist, memories of this session) before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ..appraisal import TurnAppraisal
from ..persona.spec import Difficulty, PersonaSpec
from ..session import EndReason
from ..transcript import Speaker, Turn
from ..vectors.memory import MemoryItem
from .ids import LEARNER_ID_MAX, SESSION_ID_PATTERN

FORMAT = "rapport-session/1"


def _aware(value: datetime | None) -> datetime | None:
    """Naive times (SQLite, older files) are UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class UnstorableTextError(ValueError):
    """A string no database takes: a NUL (PostgreSQL refuses it) or an unpaired surrogate (not encodable)."""

    def __init__(self, field: str, reason: str):
        self.field = field
        super().__init__(reason)


def check_storable(data: Any) -> None:
    """Walk `data` (iteratively: its depth is the loader's to bound) and refuse text no database can store."""
    stack: list[tuple[tuple, Any]] = [((), data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend(((*where, key), item) for key, item in value.items())
            stack.extend(((*where, key), key) for key in value)  # keys are stored too
        elif isinstance(value, list):
            stack.extend(((*where, index), item) for index, item in enumerate(value))
        elif isinstance(value, str):
            if "\x00" in value:
                raise UnstorableTextError(".".join(map(str, where)) or "<root>", "contains a NUL character")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise UnstorableTextError(".".join(map(str, where)) or "<root>", "contains an unpaired surrogate") from None


class StoredSession(BaseModel):
    """The `session` block: one row of the sessions table, every field bounded by its column."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=SESSION_ID_PATTERN)
    learner_id: str = Field(min_length=1, max_length=LEARNER_ID_MAX)  # replaced by the importing learner
    persona_id: str = Field(max_length=64)
    difficulty: Difficulty
    model: str = Field(default="", max_length=300)
    max_turns: int = Field(ge=1, le=10_000)
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None = None
    end_reason: EndReason | None = None
    end_detail: str | None = None

    @field_validator("started_at", "updated_at", "ended_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return _aware(value)


class StoredScorecard(BaseModel):
    """A saved scorecard: its shape is checked where scorecards are defined (evals); here what the store reads."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["judge", "offline"]
    data: dict[str, Any]
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return _aware(value)

    @field_validator("data")
    @classmethod
    def _has_an_overall(cls, data: dict[str, Any]) -> dict[str, Any]:
        overall = data.get("overall")
        if isinstance(overall, bool) or not isinstance(overall, int | float):
            raise ValueError("data.overall must be a number")
        if not isinstance(data.get("criteria"), dict):
            raise ValueError("data.criteria must be a mapping")
        return data


class SessionExport(BaseModel):
    """A session as a portable file; also a valid transcript file (`persona` and `turns` at the top)."""

    model_config = ConfigDict(extra="forbid")

    # Field order matters: each validator below checks against the fields declared before it.
    format: Literal["rapport-session/1"] = FORMAT
    persona: str
    turns: list[Turn]
    session: StoredSession
    persona_spec: PersonaSpec
    trajectory: list[TurnAppraisal] = Field(default_factory=list)
    scorecards: list[StoredScorecard] = Field(default_factory=list)
    memories: list[MemoryItem] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        check_storable(data)
        return data

    @field_validator("session", "persona_spec")
    @classmethod
    def _same_persona(cls, value: StoredSession | PersonaSpec, info: ValidationInfo) -> StoredSession | PersonaSpec:
        """The session row and the persona snapshot must both be of the persona the file names."""
        field, named = ("persona_id", value.persona_id) if isinstance(value, StoredSession) else ("id", value.id)
        if "persona" in info.data and named != info.data["persona"]:
            raise ValueError(f"{field} {named!r} differs from persona {info.data['persona']!r}")
        return value

    @field_validator("trajectory")
    @classmethod
    def _appraises_learner_turns(cls, trajectory: list[TurnAppraisal], info: ValidationInfo) -> list[TurnAppraisal]:
        turns: list[Turn] = info.data.get("turns", [])
        seen: set[int] = set()
        for appraisal in trajectory:
            if not 0 <= appraisal.turn < len(turns) or turns[appraisal.turn].speaker is not Speaker.LEARNER:
                raise ValueError(f"turn {appraisal.turn} is not a learner turn of this session")
            if appraisal.turn in seen:
                raise ValueError(f"turn {appraisal.turn} is appraised twice")
            seen.add(appraisal.turn)
        return trajectory

    @field_validator("memories")
    @classmethod
    def _memories_of_this_session(cls, memories: list[MemoryItem], info: ValidationInfo) -> list[MemoryItem]:
        session = info.data.get("session")
        seen: set[str] = set()
        for memory in memories:
            if len(memory.id) > 64:
                raise ValueError(f"memory id {memory.id[:20]!r}… is longer than 64 characters")
            if memory.id in seen:
                raise ValueError(f"duplicate memory id {memory.id!r}")
            seen.add(memory.id)
            if session is not None and (memory.session_id != session.id or memory.persona_id != session.persona_id):
                raise ValueError(f"memory {memory.id!r} belongs to another session or persona")
        return memories
