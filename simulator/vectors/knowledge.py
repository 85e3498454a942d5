"""Persona knowledge by meaning: the entries of a persona's dossier nearest to what was just said.

All personas share one collection; each entry is stored as `<persona id>/<entry id>` with the hash of the
persona's whole knowledge list, so indexing is a no-op until that list changes, and then also drops entries
that were removed.
"""

from __future__ import annotations

import hashlib
import json
import threading

from ..persona.spec import KnowledgeEntry, PersonaSpec
from .client import ChromaTarget, chroma_target
from .collection import Document, VectorCollection
from .embedding import EmbeddingSpec, embedding_spec

COLLECTION = "rapport-knowledge"
RELEVANT = 0.8  # a sensible `max_distance` for the MiniLM embedder, from the distances in `retrieve`'s docstring
TEXT_FORMAT = 1  # bump when `entry_text` changes, so every persona is re-indexed


def entry_text(entry: KnowledgeEntry) -> str:
    """What is embedded for an entry: its keywords, then its content."""
    return f"{', '.join(entry.keywords)}: {entry.content}" if entry.keywords else entry.content


def knowledge_hash(persona: PersonaSpec) -> str:
    """A digest of the persona's knowledge entries (and of how they are turned into text)."""
    payload = [TEXT_FORMAT] + [[e.id, e.keywords, e.content] for e in persona.knowledge]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:32]


class KnowledgeIndex:
    """Vector retrieval over personas' knowledge entries."""

    def __init__(self, collection: VectorCollection | None = None) -> None:
        self.collection = collection or VectorCollection(COLLECTION)
        self.collection.on_create = self._reindex
        self._synced: dict[str, tuple[int, str]] = {}  # persona id -> (collection generation, knowledge hash)
        self._personas: dict[str, PersonaSpec] = {}  # every persona indexed by this process, to refill a new store

    def _reindex(self, _: VectorCollection) -> None:
        """The collection is new (first use, another embedding, a damaged store replaced): refill it at once."""
        self._synced.clear()
        for persona in list(self._personas.values()):
            self.index(persona)

    def index(self, persona: PersonaSpec) -> bool:
        """Bring the persona's entries up to date; returns whether anything was (re)indexed."""
        digest = knowledge_hash(persona)
        if self._synced.get(persona.id) == (self.collection.generation, digest):
            return False
        self._personas[persona.id] = persona
        documents = [
            Document(id=f"{persona.id}/{e.id}", text=entry_text(e),
                     metadata={"persona_id": persona.id, "entry_id": e.id})
            for e in persona.knowledge
        ]
        writes = self.collection.writes  # counted, not sync's result: a new store is refilled inside the call
        self.collection.sync(documents, digest, where={"persona_id": persona.id})
        self._synced[persona.id] = (self.collection.generation, digest)
        return self.collection.writes != writes

    def retrieve(
        self, persona: PersonaSpec, query: str, k: int = 3, *, max_distance: float | None = None
    ) -> list[KnowledgeEntry]:
        """Up to `k` of the persona's entries nearest in meaning to `query`, nearest first (indexes on first use).

        `max_distance` (cosine) drops entries that are merely the least unrelated: with MiniLM, the entry a
        question is about sits at 0.45-0.75 from it, and small talk at 0.87 or more from every entry (see RELEVANT).
        """
        if not persona.knowledge or not query.strip() or k <= 0:
            return []
        self.index(persona)
        hits = self.collection.query(query, min(k, len(persona.knowledge)), where={"persona_id": persona.id})
        by_id = {e.id: e for e in persona.knowledge}
        return [
            by_id[h.metadata["entry_id"]]
            for h in hits
            if h.metadata.get("entry_id") in by_id and (max_distance is None or h.distance <= max_distance)
        ]


_shared: tuple[tuple[EmbeddingSpec, ChromaTarget], KnowledgeIndex] | None = None
_shared_lock = threading.Lock()


def shared_index() -> KnowledgeIndex:
    """The process's index, so each persona is indexed once rather than checked against the store every reply.

    It belongs to the configured embedding and store: when either changes (tests, a new RAPPORT_HOME), a new one."""
    global _shared
    key = (embedding_spec(), chroma_target())
    with _shared_lock:
        if _shared is None or _shared[0] != key:
            _shared = (key, KnowledgeIndex(VectorCollection(COLLECTION, spec=key[0], target=key[1])))
        return _shared[1]
