"""One seam for every chat model: langchain-core chat models built from a `ModelSpec` per role."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from ..config import ModelSpec, Role, UserEndpoint, resolve_model_spec, user_endpoints_allowed
from ..errors import ConfigError, ModelError
from .fake import ScriptedChatModel


def build_chat_model(spec: ModelSpec, role: Role | str = Role.PERSONA) -> BaseChatModel:
    """The chat model `spec` describes. Heavy providers are imported only when chosen."""
    role = Role(role).value
    if spec.user_supplied:
        # Only ever an http(s) endpoint with the user's own key, and only while the operator allows it.
        if not isinstance(spec, UserEndpoint) or spec.provider != "openai" or not user_endpoints_allowed():
            raise ConfigError("this server only uses the endpoints its operator configured")
    if spec.provider == "fake":
        # `fake:replies.json` replays a JSON list of replies, round and round, at once; plain `fake` echoes,
        # with a small delay per word that makes streaming visible in the UI.
        replies = _scripted_replies(spec.model) if spec.model else []
        return ScriptedChatModel(replies=replies, cycle=True, delay=0.02 if not replies else 0.0)
    if spec.provider == "embedded":
        from .embedded import EmbeddedChatModel, default_gguf_path

        path = spec.model or str(default_gguf_path())
        kwargs = {"temperature": spec.temperature} if spec.temperature is not None else {}
        return EmbeddedChatModel(model_path=path, **kwargs)
    if spec.provider == "openai":
        from .openai_compat import build_openai_chat_model

        return build_openai_chat_model(spec, role)
    raise ConfigError(f"unknown provider {spec.provider!r}")  # pragma: no cover - ModelSpec restricts it


def _scripted_replies(path: str) -> list[str]:
    import json
    from pathlib import Path

    try:
        replies = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"fake model replies file {path}: {exc}") from None
    if not isinstance(replies, list) or not all(isinstance(r, str) for r in replies):
        raise ConfigError(f"fake model replies file {path}: expected a JSON list of strings")
    return replies


def chat_model_for(role: Role | str, override: ModelSpec | str | None = None) -> tuple[ModelSpec, BaseChatModel]:
    """Resolve the spec for `role` and build its model; raises `ConfigError` when `role` is not configured."""
    spec = resolve_model_spec(role, override)
    if spec is None:
        raise ConfigError(f"no {Role(role).value} model is configured: set RAPPORT_{Role(role).value.upper()}_MODEL")
    return spec, build_chat_model(spec, role)


def prompt_style(model: BaseChatModel) -> str:
    """'transcript' for base models that continue a script, 'chat' for instruction-following chat models."""
    return getattr(model, "prompt_style", "chat")


def describe_model_error(exc: BaseException, spec: ModelSpec | None, role: Role | str) -> ModelError:
    """Any exception from a model call as a one-line `ModelError` a user can act on."""
    if isinstance(exc, ModelError):
        return exc
    role = Role(role).value
    if spec is not None and spec.provider == "openai":
        from .openai_compat import describe_openai_error

        described = describe_openai_error(exc, spec, role)
        if described is not None:
            return described
    name = spec.label if spec else "model"
    detail = " ".join(str(exc).split())[:160] or type(exc).__name__
    return ModelError(f"the {role} model ({name}) failed: {detail}")


__all__ = [
    "ModelSpec",
    "Role",
    "ScriptedChatModel",
    "UserEndpoint",
    "build_chat_model",
    "chat_model_for",
    "describe_model_error",
    "prompt_style",
]
