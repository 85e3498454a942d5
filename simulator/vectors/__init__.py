"""Vector indexes on Chroma: persona knowledge, the learner's memory, and the collections under them.

chromadb is imported only when a collection is first used, so importing this package stays light.
"""

from .client import ChromaTarget, VectorStoreError, chroma_target, close_clients, vector_client
from .collection import Document, Hit, VectorCollection
from .embedding import EmbeddingSpec, embedding_function, embedding_spec
from .knowledge import KnowledgeIndex
from .memory import MemoryIndex, MemoryItem, MemoryKind

__all__ = [
    "ChromaTarget",
    "Document",
    "EmbeddingSpec",
    "Hit",
    "KnowledgeIndex",
    "MemoryIndex",
    "MemoryItem",
    "MemoryKind",
    "VectorCollection",
    "VectorStoreError",
    "chroma_target",
    "close_clients",
    "embedding_function",
    "embedding_spec",
    "vector_client",
]
