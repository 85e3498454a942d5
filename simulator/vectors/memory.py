"""The learner's memory across sessions: what was learnt, promised, left open or disclosed, by meaning.

The SQL store keeps every `MemoryItem`; this is only an index over it, so it can always be rebuilt. Give
`MemoryIndex` a `source` and it refills itself whenever its collection is new (first run, a switch of
embedding, a damaged store moved aside).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .collection import Document, VectorCollection, Where

COLLECTION = "rapport-memory"
MemoryKind = Literal["fact", "commitment", "open_question", "disclosure"]
# Embedded before the text, so "what did I promise?" lands near commitments and "what was left open?" near questions.
KIND_LABELS: dict[str, str] = {
    "fact": "Fact",
    "commitment": "Commitment, a promise to follow up",
    "open_question": "Open question, not yet answered",
    "disclosure": "Disclosure, shared in confidence",
}


class MemoryItem(BaseModel):
    """One thing remembered from a session between a learner and a persona."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(default_factory=lambda: uuid4().hex, min_length=1)
    learner_id: str = Field(min_length=1)
    persona_id: str = Field(min_length=1)
    session_id: str = Field(min_length=1)
    kind: MemoryKind
    text: str = Field(min_length=1)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)  # SQLite hands back naive UTC times

    def document(self) -> Document:
        return Document(
            id=self.id,
            text=f"{KIND_LABELS[self.kind]}: {self.text}",
            metadata={
                "learner_id": self.learner_id, "persona_id": self.persona_id, "session_id": self.session_id,
                "kind": self.kind, "text": self.text, "created_ts": self.created_at.timestamp(),
            },
        )

    @classmethod
    def from_document(cls, document: Document) -> MemoryItem:
        m = document.metadata
        return cls(
            id=document.id, learner_id=str(m["learner_id"]), persona_id=str(m["persona_id"]),
            session_id=str(m["session_id"]), kind=m["kind"], text=str(m["text"]),  # type: ignore[arg-type]
            created_at=datetime.fromtimestamp(float(m["created_ts"]), UTC),
        )


def _where(learner_id: str | None = None, persona_id: str | None = None, session_id: str | None = None) -> Where | None:
    given = (("learner_id", learner_id), ("persona_id", persona_id), ("session_id", session_id))
    parts = [{key: value} for key, value in given if value]
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


class MemoryIndex:
    """Vector index of memory items, searched per (learner, persona)."""

    def __init__(
        self,
        source: Callable[[], Iterable[MemoryItem]] | None = None,
        collection: VectorCollection | None = None,
    ) -> None:
        self.source = source
        self.collection = collection or VectorCollection(COLLECTION)
        self.collection.on_create = self._refill

    def _refill(self, collection: VectorCollection) -> None:
        if self.source is not None:
            collection.upsert([item.document() for item in self.source()])

    def add(self, items: Iterable[MemoryItem]) -> None:
        """Index `items` (re-adding an id replaces it)."""
        self.collection.upsert([item.document() for item in items])

    def retrieve(self, learner_id: str, persona_id: str, query: str, k: int = 4) -> list[MemoryItem]:
        """This learner's memories with this persona nearest to `query`; the most recent ones when it is empty."""
        if k <= 0:
            return []
        where = _where(learner_id, persona_id)
        if not query.strip():
            items = [MemoryItem.from_document(d) for d in self.collection.get(where=where)]
            return sorted(items, key=lambda item: item.created_at, reverse=True)[:k]
        return [MemoryItem.from_document(h) for h in self.collection.query(query, k, where=where)]

    def forget(
        self, learner_id: str | None = None, persona_id: str | None = None, session_id: str | None = None
    ) -> int:
        """Remove the memories matching every filter given (all memories when none is given); returns how many."""
        return self.collection.delete(where=_where(learner_id, persona_id, session_id))

    def rebuild(self, items: Sequence[MemoryItem] | Iterable[MemoryItem]) -> None:
        """Replace the whole index with `items` (from the source of truth)."""
        items = list(items)
        keep = {item.id for item in items}
        stale = [i for i in self.collection.ids() if i not in keep]
        self.collection.delete(ids=stale)
        self.add(items)
