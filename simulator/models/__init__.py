"""One seam for every chat model: langchain-core chat models built from a `ModelSpec` per role by its
registered provider (`registry.py` says how to add one)."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel

from ..config import ModelSpec, Role, UserEndpoint, resolve_model_spec, user_endpoints_allowed
from ..errors import ConfigError, ModelError
from .fake import ScriptedChatModel
from .registry import ChatProvider, provider_for, register, supports_structured_output


def build_chat_model(spec: ModelSpec, role: Role | str = Role.PERSONA) -> BaseChatModel:
    """The chat model `spec` describes, built by its registered provider (which imports heavy libraries itself)."""
    role = Role(role).value
    if spec.user_supplied:
        # Only ever an http(s) endpoint with the user's own key, and only while the operator allows it.
        if not isinstance(spec, UserEndpoint) or not user_endpoints_allowed():  # UserEndpoint: openai only
            raise ConfigError("this server only uses the endpoints its operator configured")
    return provider_for(spec).build(spec, role)


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
    described = provider_for(spec).describe_error(exc, spec, role) if spec is not None else None
    if described is not None:
        return described
    name = spec.label if spec else "model"
    detail = " ".join(str(exc).split())[:160] or type(exc).__name__
    return ModelError(f"the {role} model ({name}) failed: {detail}")


__all__ = [
    "ChatProvider",
    "ModelSpec",
    "Role",
    "ScriptedChatModel",
    "UserEndpoint",
    "build_chat_model",
    "chat_model_for",
    "describe_model_error",
    "prompt_style",
    "provider_for",
    "register",
    "supports_structured_output",
]
