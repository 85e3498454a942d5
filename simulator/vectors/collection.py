"""A thin wrapper over one Chroma collection: upsert, query, get, delete, count, and versioned sync of a group.

The collection records the embedding it was built with; opened with another embedding it is emptied and
rebuilt rather than mixing vector spaces. Every chromadb failure becomes a one-line `VectorStoreError`; a
damaged local store is moved aside once and the operation retried, and `on_create` lets the owner refill it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..errors import RapportError
from .client import (
    ChromaTarget,
    VectorStoreError,
    chroma_target,
    is_corruption,
    is_store_moved,
    one_line,
    recover_local_store,
    reset_client,
    unreachable,
    vector_client,
)
from .embedding import EmbeddingSpec, embedding_function, embedding_spec

EMBEDDING_KEY = "rapport_embedding"
VERSION_KEY = "rapport_version"
BATCH = 500  # documents per upsert/delete call; well under Chroma's limit (~5,000)

Scalar = str | int | float | bool
Where = dict[str, Any]
T = TypeVar("T")

log = logging.getLogger(__name__)


class Document(BaseModel):
    """A text with its id and metadata (scalar values only, as Chroma stores them)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    text: str
    metadata: dict[str, Scalar] = Field(default_factory=dict)


class Hit(Document):
    """A query result: cosine distance, 0 = same direction, 2 = opposite."""

    distance: float


class VectorCollection:
    """One named collection in the configured store, embedded with the configured embedding."""

    def __init__(
        self,
        name: str,
        *,
        spec: EmbeddingSpec | None = None,
        target: ChromaTarget | None = None,
        on_create: Callable[[VectorCollection], None] | None = None,
    ) -> None:
        self.name = name
        self.spec = spec or embedding_spec()
        self.target = target or chroma_target()
        self.on_create = on_create
        self.generation = 0  # bumped whenever the collection is (re)opened: owners re-check what they cached
        self.writes = 0  # upsert and delete calls made, so callers can tell whether anything was written
        self._handle: Any = None
        self._client: Any = None
        self._lock = threading.RLock()

    # -- opening -----------------------------------------------------------------------------------

    def _collection(self) -> Any:
        with self._lock:
            client = vector_client(self.target)
            if self._handle is None or client is not self._client:  # a closed client's collections are dead
                self._client = client
                self._handle, created = self._open(client)
                self.generation += 1
                if created and self.on_create is not None:
                    self.on_create(self)
            return self._handle

    def _open(self, client: Any) -> tuple[Any, bool]:
        """(collection, created): get it, or create it when missing or built with another embedding."""
        from chromadb.errors import NotFoundError

        function = embedding_function(self.spec)
        try:
            collection = client.get_collection(self.name, embedding_function=function)
        except NotFoundError:
            return self._create(client, function), True
        except ValueError as exc:  # Chroma refuses to open a collection with a different embedding function
            return self._recreate(client, function, one_line(exc)), True
        built_with = (collection.metadata or {}).get(EMBEDDING_KEY)
        if built_with != self.spec.key:
            return self._recreate(client, function, f"built with {built_with}, now {self.spec.key}"), True
        return collection, False

    def _create(self, client: Any, function: Any) -> Any:
        return client.get_or_create_collection(  # get_or_create: another process may have just created it
            self.name,
            embedding_function=function,
            metadata={EMBEDDING_KEY: self.spec.key},
            configuration={"hnsw": {"space": "cosine"}},
        )

    def _recreate(self, client: Any, function: Any, why: str) -> Any:
        log.info("Re-indexing vector collection %s (%s).", self.name, why)
        client.delete_collection(self.name)
        return self._create(client, function)

    # -- running operations ------------------------------------------------------------------------

    def _run(self, what: str, operation: Callable[[Any], T]) -> T:
        """Run `operation` on the collection, recovering once from a damaged store or a vanished collection."""
        from chromadb.errors import NotFoundError

        for attempt in (1, 2):
            try:
                return operation(self._collection())
            except RapportError:
                raise
            except Exception as exc:
                if self._is_connection_error(exc):
                    raise unreachable(self.target, one_line(exc)) from None
                retry = attempt == 1 and (isinstance(exc, NotFoundError) or self._recover(exc))
                with self._lock:
                    self._handle = None
                if not retry:
                    raise VectorStoreError(f"{what} in {self.target.describe()}, collection {self.name}: "
                                           f"{one_line(exc)}") from None
        raise AssertionError("unreachable")

    def _recover(self, error: BaseException) -> bool:
        """Whether the local store was repaired so the operation is worth one more try."""
        if self.target.path is None:
            return False
        if is_corruption(error):
            recover_local_store(self.target, error)
            return True
        if is_store_moved(error):  # deleted or replaced by someone else: reopen what is there now
            log.warning("The vector store %s changed under Rapport; reopening it.", self.target.path)
            reset_client(self.target)
            return True
        return False

    @staticmethod
    def _is_connection_error(error: BaseException) -> bool:
        import httpx

        return isinstance(error, httpx.TransportError)

    # -- the API -----------------------------------------------------------------------------------

    def upsert(self, documents: Sequence[Document]) -> None:
        """Insert or replace `documents` (embedding their texts)."""
        for start in range(0, len(documents), BATCH):
            batch = documents[start : start + BATCH]
            self._run("upserting", lambda c, b=batch: c.upsert(
                ids=[d.id for d in b], documents=[d.text for d in b], metadatas=[d.metadata or None for d in b]))
            self.writes += 1

    def query(self, text: str, k: int, where: Where | None = None) -> list[Hit]:
        """The `k` documents nearest to `text` (optionally only those matching `where`), nearest first."""
        return self.query_many([text], k, where)[0]

    def query_many(self, texts: Sequence[str], k: int, where: Where | None = None) -> list[list[Hit]]:
        """For each of `texts`, the `k` nearest documents matching `where`, nearest first."""
        if not texts or k <= 0:
            return [[] for _ in texts]
        result = self._run("querying", lambda c: c.query(
            query_texts=list(texts), n_results=k, where=where or None, include=["documents", "metadatas", "distances"]))
        columns = (result["ids"], result["documents"], result["metadatas"], result["distances"])
        return [
            [Hit(id=i, text=t or "", metadata=m or {}, distance=d)
             for i, t, m, d in zip(*row, strict=True)]
            for row in zip(*columns, strict=True)
        ]

    def get(self, where: Where | None = None, ids: Sequence[str] | None = None) -> list[Document]:
        """Documents matching `where` and/or `ids` (all when neither is given), without vectors."""
        result = self._run("reading", lambda c: c.get(
            ids=list(ids) if ids is not None else None, where=where or None, include=["documents", "metadatas"]))
        return [Document(id=i, text=t or "", metadata=m or {})
                for i, t, m in zip(result["ids"], result["documents"], result["metadatas"], strict=True)]

    def ids(self, where: Where | None = None) -> list[str]:
        """Ids of the documents matching `where` (all when None)."""
        return self._run("listing", lambda c: c.get(where=where or None, include=[]))["ids"]

    def delete(self, ids: Sequence[str] | None = None, where: Where | None = None) -> int:
        """Delete by ids and/or `where` (both None deletes everything); returns how many were deleted."""
        doomed = list(ids) if where is None and ids is not None else self.ids(where)
        if ids is not None and where is not None:
            keep = set(ids)
            doomed = [i for i in doomed if i in keep]
        for start in range(0, len(doomed), BATCH):
            batch = doomed[start : start + BATCH]
            self._run("deleting", lambda c, b=batch: c.delete(ids=b))
            self.writes += 1
        return len(doomed)

    def count(self) -> int:
        """Number of documents in the collection."""
        return self._run("counting", lambda c: c.count())

    def sync(self, documents: Sequence[Document], version: str, where: Where | None = None) -> bool:
        """Make the group `where` hold exactly `documents` at `version`: a no-op when it already does.

        Returns whether anything was written. Entries of the group that are not in `documents` are removed.
        """
        existing = {d.id: d.metadata.get(VERSION_KEY) for d in self.get(where=where)}
        wanted = {d.id for d in documents}
        if set(existing) == wanted and all(v == version for v in existing.values()):
            return False
        stale = [i for i in existing if i not in wanted]
        if stale:
            self.delete(ids=stale)
        self.upsert([d.model_copy(update={"metadata": {**d.metadata, VERSION_KEY: version}}) for d in documents])
        return True
