"""Which embedding the vector indexes use, and Chroma embedding functions for it.

`RAPPORT_EMBEDDINGS` selects one: unset or `minilm` is the offline all-MiniLM-L6-v2 embedder (nothing leaves
the machine); `openai:MODEL` or `openai:MODEL@BASE_URL` calls an OpenAI-compatible embeddings endpoint, with
the key from `OPENAI_API_KEY` or from the variable named by `RAPPORT_EMBEDDINGS_API_KEY_ENV`.

Each collection records the `key` of the embedding it was built with, so switching embeddings re-indexes
instead of mixing two vector spaces. chromadb is imported only inside `embedding_function`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator

from ..errors import ConfigError, ModelError
from ..settings import settings
from ..models.registry import EmbeddingProvider, embedding_provider, embedding_providers, register

EMBEDDINGS_ENV = "RAPPORT_EMBEDDINGS"
API_KEY_ENV_ENV = "RAPPORT_EMBEDDINGS_API_KEY_ENV"
DEFAULT_API_KEY_ENV = "OPENAI_API_KEY"
MINILM_NAME = "rapport-minilm"  # names under which Chroma records (and re-creates) our embedding functions
OPENAI_NAME = "rapport-openai"
OPENAI_BATCH = 256  # inputs per embeddings request; the API accepts up to 2048


class EmbeddingSpec(BaseModel):
    """An embedding choice: provider, model, and (for OpenAI) where to call and which variable holds the key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str = DEFAULT_API_KEY_ENV

    @field_validator("provider")
    @classmethod
    def _registered(cls, value: str) -> str:
        if embedding_provider(value) is None:
            raise ValueError(f"unknown embedding provider {value[:40]!r}; use {_usage()}")
        return value

    @property
    def key(self) -> str:
        """Identifies the vector space: vectors with different keys must never share a collection."""
        where = f"@{self.base_url}" if self.base_url else ""
        return f"{self.provider}:{self.model}{where}"


def minilm_spec() -> EmbeddingSpec:
    """The offline embedder; its model file name is part of the key (RAPPORT_MINILM_ONNX swaps the graph)."""
    from ..embeddings import MODEL_PATH_ENV, QUANTIZED_NAME

    override = settings().minilm_onnx
    return EmbeddingSpec(provider="minilm", model=override.name if override else QUANTIZED_NAME)


def embedding_spec(value: str | None = None) -> EmbeddingSpec:
    """Parse `value` (default: $RAPPORT_EMBEDDINGS): '', 'minilm', 'openai:MODEL' or 'openai:MODEL@BASE_URL'."""
    raw = ((settings().embeddings or "") if value is None else value).strip()
    if raw in {"", "local"}:
        raw = MinilmEmbeddings.name
    name, _, rest = raw.partition(":")
    model, _, base_url = rest.partition("@")
    provider = embedding_provider(name)
    spec = provider.spec(model.strip(), base_url.strip() or None) if provider else None
    if spec is None:
        raise ConfigError(f"{EMBEDDINGS_ENV}={raw!r} is not understood; use {_usage()}")
    return spec


def _usage() -> str:
    return ", ".join(p.usage for p in embedding_providers())


def embed_minilm(texts: Sequence[str]) -> list[np.ndarray]:
    """Offline all-MiniLM-L6-v2 vectors (384-d, unit length)."""
    from ..embeddings import get_embedder

    return list(get_embedder().embed(list(texts)))


class OpenAIEmbedder:
    """Calls an OpenAI-compatible /embeddings endpoint; the client is built on first use."""

    def __init__(self, model: str, base_url: str | None = None, api_key_env: str = DEFAULT_API_KEY_ENV) -> None:
        self.model, self.base_url, self.api_key_env = model, base_url, api_key_env
        self._client: Any = None

    def check_key(self) -> str:
        """The API key, or a ConfigError naming the variable to set."""
        key = (settings().secret(self.api_key_env) or "").strip()
        if not key:
            raise ConfigError(
                f"{EMBEDDINGS_ENV} asks for OpenAI embeddings but {self.api_key_env} is not set; set it, point "
                f"{API_KEY_ENV_ENV} at the variable holding the key, or unset {EMBEDDINGS_ENV} to embed offline"
            )
        return key

    def __call__(self, texts: Sequence[str]) -> list[np.ndarray]:
        import openai

        if self._client is None:
            self._client = openai.OpenAI(api_key=self.check_key(), base_url=self.base_url, max_retries=2, timeout=60)
        vectors: list[np.ndarray] = []
        for start in range(0, len(texts), OPENAI_BATCH):
            batch = list(texts[start : start + OPENAI_BATCH])
            try:
                response = self._client.embeddings.create(model=self.model, input=batch)
            except openai.APIError as exc:
                where = self.base_url or "api.openai.com"
                reason = " ".join(str(getattr(exc, "message", exc)).split())
                raise ModelError(f"embeddings with {self.model} at {where} failed: {reason}") from None
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(np.asarray(item.embedding, dtype=np.float32) for item in ordered)
        return vectors


def embedding_function(spec: EmbeddingSpec | None = None) -> Any:
    """The Chroma embedding function for `spec` (default: from the environment); checks an OpenAI key up front."""
    spec = spec or embedding_spec()
    return embedding_provider(spec.provider).function(spec)


class MinilmEmbeddings(EmbeddingProvider):
    """The offline all-MiniLM-L6-v2 embedder: nothing leaves the machine."""

    name = "minilm"
    usage = "'minilm' (offline, the default)"

    def spec(self, model: str, base_url: str | None) -> EmbeddingSpec | None:
        return minilm_spec() if not model and not base_url else None

    def function(self, spec: EmbeddingSpec) -> Any:
        return _chroma_classes()[0]()


class OpenAIEmbeddings(EmbeddingProvider):
    """An OpenAI-compatible /embeddings endpoint, with the key from $RAPPORT_EMBEDDINGS_API_KEY_ENV's variable."""

    name = "openai"
    usage = "'openai:text-embedding-3-small' or 'openai:MODEL@BASE_URL'"

    def spec(self, model: str, base_url: str | None) -> EmbeddingSpec | None:
        if not model:
            return None
        key_env = settings().embeddings_api_key_env or DEFAULT_API_KEY_ENV
        return EmbeddingSpec(provider=self.name, model=model, base_url=base_url, api_key_env=key_env)

    def function(self, spec: EmbeddingSpec) -> Any:
        function = _chroma_classes()[1](model=spec.model, base_url=spec.base_url, api_key_env=spec.api_key_env)
        function.embedder.check_key()
        return function


@cache
def _chroma_classes() -> tuple[type, type]:
    """Define and register the two Chroma adapters.

    They subclass chromadb's EmbeddingFunction, so they are defined here rather than at module level to keep
    chromadb out of `import simulator`. Registration lets Chroma rebuild them from a collection's stored config
    (name + get_config) when the collection is re-opened; without it re-opening fails or warns "legacy".
    """
    from .client import import_chromadb

    import_chromadb()
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
    from chromadb.utils.embedding_functions import register_embedding_function

    @register_embedding_function
    class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
        """Chroma adapter for the offline all-MiniLM-L6-v2 embedder."""

        def __init__(self) -> None:
            pass  # the ONNX model loads on the first call, not when Chroma rebuilds us from config

        def __call__(self, input: Documents) -> Embeddings:
            return embed_minilm(input)

        @staticmethod
        def name() -> str:
            return MINILM_NAME

        def get_config(self) -> dict[str, Any]:
            return {}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> MiniLMEmbeddingFunction:
            return MiniLMEmbeddingFunction()

        def default_space(self) -> Space:
            return "cosine"

    @register_embedding_function
    class OpenAIEmbeddingFunction(EmbeddingFunction[Documents]):
        """Chroma adapter for OpenAI-compatible embeddings; its stored config names the key variable, never the key."""

        def __init__(self, model: str, base_url: str | None = None, api_key_env: str = DEFAULT_API_KEY_ENV) -> None:
            self.embedder = OpenAIEmbedder(model, base_url, api_key_env)

        def __call__(self, input: Documents) -> Embeddings:
            return self.embedder(input)

        @staticmethod
        def name() -> str:
            return OPENAI_NAME

        def get_config(self) -> dict[str, Any]:
            e = self.embedder
            return {"model": e.model, "base_url": e.base_url, "api_key_env": e.api_key_env}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> OpenAIEmbeddingFunction:
            return OpenAIEmbeddingFunction(**config)

        def default_space(self) -> Space:
            return "cosine"

    return MiniLMEmbeddingFunction, OpenAIEmbeddingFunction


register(MinilmEmbeddings())
register(OpenAIEmbeddings())
