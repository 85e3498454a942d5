"""Judge exemplars: annotated learner turns retrieved by similarity, to calibrate the judge's levels.

`evals/exemplars.yaml` holds short learner turns, each after the other person's line, with the criteria it
bears on at a level 1-5 and a one-line reason. `ExemplarIndex.retrieve` finds the ones nearest to a
conversation's learner turns; `exemplars_text` formats them as a compact reference block for the judge prompt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from simulator.persona.spec import Domain
from simulator.unique import require_unique_ids
from simulator.vectors import Document, VectorCollection
from simulator.yaml_source import validate_yaml_file

from .rubric import CORE_CRITERIA

EXEMPLARS_PATH = Path(__file__).parent / "exemplars.yaml"
COLLECTION = "rapport-exemplars"
MAX_QUERY_TURNS = 12  # the last learner turns are enough to find neighbours; bounds the cost of long sessions


class ExemplarModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Annotation(ExemplarModel):
    """How one learner turn rates on one criterion."""

    criterion: str = Field(description="A criterion id of the default rubric.")
    level: int = Field(ge=1, le=5, description="The level 1-5 the turn shows on that criterion.")
    reason: str = Field(min_length=1, max_length=160, description="Why, in one line.")

    @field_validator("criterion")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CORE_CRITERIA:
            raise ValueError(f"unknown criterion {value!r}; use one of: {', '.join(CORE_CRITERIA)}")
        return value

    @field_validator("reason")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value:
            raise ValueError("write the reason on one line")
        return value


class Exemplar(ExemplarModel):
    """A learner turn, the line it answered, and its annotations."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
    domain: Domain
    context: str = Field(min_length=1, description="The other person's line just before the learner's turn.")
    learner: str = Field(min_length=1, description="The learner's turn.")
    annotations: list[Annotation] = Field(min_length=1)

    @field_validator("annotations")
    @classmethod
    def _one_per_criterion(cls, annotations: list[Annotation]) -> list[Annotation]:
        criteria = [a.criterion for a in annotations]
        if len(set(criteria)) != len(criteria):
            raise ValueError("annotate each criterion at most once per exemplar")
        return annotations


class ExemplarSet(ExemplarModel):
    schema_version: Literal[1]
    exemplars: list[Exemplar] = Field(min_length=1)

    @field_validator("exemplars")
    @classmethod
    def _unique_ids(cls, exemplars: list[Exemplar]) -> list[Exemplar]:
        require_unique_ids((e.id for e in exemplars), "exemplar")
        return exemplars


@cache
def load_exemplars(path: Path = EXEMPLARS_PATH) -> tuple[Exemplar, ...]:
    """The exemplars in `path`, validated (a `DataFileError` names the line of every problem)."""
    return tuple(validate_yaml_file(path, ExemplarSet).exemplars)


class ExemplarIndex:
    """Finds the exemplars whose learner turns are nearest to a conversation's learner turns."""

    def __init__(self, exemplars: Sequence[Exemplar] | None = None, collection: VectorCollection | None = None) -> None:
        self.exemplars = list(exemplars) if exemplars is not None else list(load_exemplars())
        self.collection = collection or VectorCollection(COLLECTION)
        self.collection.on_create = self._reindex
        self._indexed_generation: int | None = None
        self._version = hashlib.sha256(
            "\n".join(e.model_dump_json() for e in self.exemplars).encode()).hexdigest()[:32]

    def _reindex(self, _: VectorCollection) -> None:
        """The collection is new (first use, another embedding, a damaged store replaced): refill it at once."""
        self._indexed_generation = None
        self.index()

    def index(self) -> bool:
        """Index the exemplars' learner turns; a no-op while the set is unchanged. Returns whether it wrote."""
        if self._indexed_generation == self.collection.generation:
            return False
        documents = [Document(id=e.id, text=e.learner, metadata={"domain": e.domain.value}) for e in self.exemplars]
        writes = self.collection.writes  # counted, not sync's result: a new store is refilled inside the call
        self.collection.sync(documents, self._version)
        self._indexed_generation = self.collection.generation
        return self.collection.writes != writes

    def retrieve(self, learner_turns: list[str], k: int = 4) -> list[Exemplar]:
        """Up to `k` exemplars, each nearest to at least one of the last learner turns, nearest first."""
        turns = [t for t in learner_turns if t.strip()][-MAX_QUERY_TURNS:]
        if not turns or k <= 0 or not self.exemplars:
            return []
        self.index()
        best: dict[str, float] = {}
        for hits in self.collection.query_many(turns, min(k, len(self.exemplars))):
            for hit in hits:
                best[hit.id] = min(hit.distance, best.get(hit.id, 2.0))
        by_id = {e.id: e for e in self.exemplars}
        ranked = sorted((i for i in best if i in by_id), key=lambda i: best[i])
        return [by_id[i] for i in ranked[:k]]


def exemplars_text(exemplars: Sequence[Exemplar]) -> str:
    """A compact reference block of graded examples for the judge prompt ('' when there are none)."""
    if not exemplars:
        return ""
    lines = ["Graded examples from other conversations, to calibrate your levels. They are not part of this",
             "transcript: never quote them as evidence."]
    for n, e in enumerate(exemplars, 1):
        lines.append(f'{n}. [{e.domain.value}] Other: "{e.context}" Learner: "{e.learner}"')
        lines.extend(f"   {a.criterion} {a.level}: {a.reason}" for a in e.annotations)
    return "\n".join(lines)
