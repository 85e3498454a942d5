"""Model providers by name: each provider module registers one object, and everything else asks this registry.

Adding a chat provider is one module that subclasses `ChatProvider` and calls `register(MyProvider())` at import,
plus one line naming that module in `CHAT_BUILTIN` below. A provider that lives in another package is found
without editing Rapport at all, in either of two ways (imported once, when a name is not built in or when the
list of providers is asked for; a plugin may add names, never replace one):

- an entry point in the `rapport.providers` group whose value is the module, e.g. in its pyproject.toml
  `[project.entry-points."rapport.providers"] toy = "toy_provider"`;
- `RAPPORT_PROVIDERS=package.module[,other.module]`: modules on the Python path, handy for a local plugin.

Then `RAPPORT_PERSONA_MODEL=toy:MODEL` (or `--model toy:MODEL`, or `provider = "toy"` in rapport.toml) uses it.
Embedding providers for the vector indexes register the same way, as `EmbeddingProvider`s.
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ConfigError, ModelError
from ..settings import settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from ..config import ModelSpec
    from ..vectors.embedding import EmbeddingSpec

CHAT_BUILTIN = ("simulator.models.openai_compat", "simulator.models.embedded", "simulator.models.fake")
EMBEDDING_BUILTIN = ("simulator.vectors.embedding",)
PLUGINS_ENV = "RAPPORT_PROVIDERS"
ENTRY_POINT_GROUP = "rapport.providers"


class ChatProvider(ABC):
    """One way to get a chat model: a spec `NAME[:MODEL][@BASE_URL]` names it, and it builds the model."""

    name: ClassVar[str]
    usage: ClassVar[str]  # how a spec names it, for messages, e.g. "openai[:MODEL][@URL]"
    structured_output: ClassVar[bool] = False  # accepts response_format={"type": "json_schema", ...}

    @abstractmethod
    def build(self, spec: ModelSpec, role: str) -> BaseChatModel:
        """The chat model `spec` describes for `role`; import heavy libraries here, not at module level."""

    def describe_error(self, exc: BaseException, spec: ModelSpec, role: str) -> ModelError | None:
        """A one-line `ModelError` naming the fix for an error of this provider's client; None for a generic one."""
        return None

    def pool_key(self, spec: ModelSpec, shard: int) -> int:
        """Which of a spec's models a suite case shares: HTTP providers return `shard` (one connection pool per
        shard keeps pools small); in-process models return 0, so every case shares one."""
        return 0

    def label(self, spec: ModelSpec) -> str:
        """A short human name, e.g. 'openai:gpt-4o-mini @ http://127.0.0.1:11434/v1'."""
        name = f"{self.name}:{spec.model}" if spec.model else self.name
        return f"{name} @ {spec.base_url}" if spec.base_url else name

    def is_weak_default(self, spec: ModelSpec) -> bool:
        """True for a bundled model too small to judge or write a persona (so callers say so instead of failing)."""
        return False

    def warm_up(self, model: BaseChatModel) -> None:
        """Start loading what the first reply would otherwise wait for; must return at once."""


class EmbeddingProvider(ABC):
    """One way to embed texts for the vector indexes: `RAPPORT_EMBEDDINGS=NAME[:MODEL][@BASE_URL]` names it."""

    name: ClassVar[str]
    usage: ClassVar[str]  # for messages, e.g. "'openai:MODEL@BASE_URL'"

    @abstractmethod
    def spec(self, model: str, base_url: str | None) -> EmbeddingSpec | None:
        """The embedding `NAME:MODEL@BASE_URL` asks for; None when this provider does not understand it."""

    @abstractmethod
    def function(self, spec: EmbeddingSpec) -> Any:
        """The Chroma embedding function for `spec`; checks what it needs (a key) up front."""


_chat: dict[str, ChatProvider] = {}
_embeddings: dict[str, EmbeddingProvider] = {}
_imported: set[str] = set()  # modules whose import has finished (and so whose providers are registered)
_importing: set[str] = set()
_entry_points_loaded = False
_lock = threading.RLock()


def register(provider: ChatProvider | EmbeddingProvider) -> ChatProvider | EmbeddingProvider:
    """Make `provider` available under its name (a later registration of the same name replaces it)."""
    if isinstance(provider, ChatProvider):
        table: dict[str, Any] = _chat
    elif isinstance(provider, EmbeddingProvider):
        table = _embeddings
    else:
        raise TypeError(f"{provider!r} is neither a ChatProvider nor an EmbeddingProvider")
    existing, module = table.get(provider.name), type(provider).__module__
    if existing is not None and type(existing).__module__ != module:
        # Plugins are imported only when a name is not found, so letting one replace a provider would make the
        # outcome depend on what was looked up first.
        raise ConfigError(f"provider module {module}: the name '{provider.name}' is taken by"
                          f" {type(existing).__module__}; choose another")
    table[provider.name] = provider
    return provider


def unregister(provider: ChatProvider | EmbeddingProvider) -> None:
    """Forget `provider` (tests that register a toy one clean up with this)."""
    table: dict[str, Any] = _chat if isinstance(provider, ChatProvider) else _embeddings
    if table.get(provider.name) is provider:
        del table[provider.name]


def get(name: str) -> ChatProvider:
    """The chat provider called `name`; `ConfigError` (one line, listing the registered ones) when none is."""
    provider = _find(_chat, CHAT_BUILTIN, name)
    if provider is None:
        raise ConfigError(f"unknown model provider '{name[:40]}'; use {usage()}")
    return provider


def names() -> list[str]:
    """The registered chat providers, built-in ones first (in `CHAT_BUILTIN` order), then plugins."""
    return [p.name for p in _chat_providers()]


def _chat_providers() -> list[ChatProvider]:
    _load(CHAT_BUILTIN)
    _load_plugins()
    order = {module: i for i, module in enumerate(CHAT_BUILTIN)}
    return sorted(_chat.values(), key=lambda p: order.get(type(p).__module__, len(order)))  # stable for plugins


def is_registered(name: str) -> bool:
    return _find(_chat, CHAT_BUILTIN, name) is not None


def usage() -> str:
    """How a model spec may name each provider, e.g. 'openai[:MODEL][@URL], embedded[:PATH.gguf] or fake'."""
    forms = [p.usage for p in _chat_providers()]
    return ", ".join(forms[:-1]) + f" or {forms[-1]}" if len(forms) > 1 else "".join(forms)


def provider_for(spec: ModelSpec) -> ChatProvider:
    """The provider that builds `spec`'s model."""
    return get(spec.provider)


def supports_structured_output(spec: ModelSpec | None) -> bool:
    """Whether `spec`'s model accepts `response_format` with a JSON schema (else the schema goes in the prompt)."""
    return spec is not None and provider_for(spec).structured_output


def embedding_provider(name: str) -> EmbeddingProvider | None:
    """The embedding provider called `name`, or None."""
    return _find(_embeddings, EMBEDDING_BUILTIN, name)


def embedding_providers() -> list[EmbeddingProvider]:
    _load(EMBEDDING_BUILTIN)
    _load_plugins()
    return list(_embeddings.values())


def _find(table: dict[str, Any], builtin: tuple[str, ...], name: str) -> Any:
    """`name` in `table`, importing the built-in modules first and the plugins only when it is not built in
    (a built-in name, the common case, is found without reading the settings)."""
    _load(builtin)
    if name not in table:
        _load_plugins()
    return table.get(name)


def _load(builtin: tuple[str, ...]) -> None:
    """Import the built-in provider modules not imported yet; each registers its providers as it is imported."""
    if _imported.issuperset(builtin):
        return  # the common case, without the lock
    with _lock:
        for module in builtin:
            _import(module, "built-in provider")


def _load_plugins() -> None:
    """Import the `rapport.providers` entry points (once per process) and the modules `RAPPORT_PROVIDERS` names
    that are not imported yet."""
    global _entry_points_loaded
    plugins = [m.strip() for m in settings().providers.split(",") if m.strip()]
    if _entry_points_loaded and _imported.issuperset(plugins):
        return
    with _lock:
        if not _entry_points_loaded:
            _load_entry_points()
            _entry_points_loaded = True
        for module in plugins:
            _import(module, PLUGINS_ENV)


def _import(module: str, where: str) -> None:
    if module in _imported or module in _importing:
        return  # _importing: a provider module that builds a ModelSpec while it is imported must not recurse
    _importing.add(module)
    try:
        importlib.import_module(module)
    except Exception as exc:  # noqa: BLE001 - a plugin failing in any way is one line naming it, not a traceback
        raise ConfigError(f"{where}: cannot import provider module '{module[:80]}': {type(exc).__name__}: {exc}; check"
                          " the name and that its package is installed (or on PYTHONPATH)") from None
    finally:
        _importing.discard(module)
    _imported.add(module)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        module = point.value.partition(":")[0]
        _import(module, f"entry point '{point.name}' ({point.value}) in {ENTRY_POINT_GROUP}")
