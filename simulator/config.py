"""Model roles and where their settings come from: CLI > environment > rapport.toml > defaults.

Each role (`persona`, `judge`, `learner`) is configured on its own, so the persona can run on the
embedded model while a stronger model judges.
"""

from __future__ import annotations

import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .paths import rapport_home

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class Role(StrEnum):
    PERSONA = "persona"
    JUDGE = "judge"
    LEARNER = "learner"


Provider = Literal["openai", "embedded", "fake"]


class ModelSpec(BaseModel):
    """How to reach one chat model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Provider = Field(description="openai (any OpenAI-compatible endpoint), embedded (llama.cpp), or fake.")
    model: str | None = Field(
        default=None,
        description="Model name for openai; path to a .gguf file for embedded (default: the bundled Gemma 3 270M).",
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1.")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="Environment variable holding the API key.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout: float = Field(default=60.0, gt=0, description="Seconds before one model call is abandoned.")
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries with backoff on 429, 5xx and timeouts.")
    source: str = Field(default="default", description="Where this setting came from (for messages).")

    @property
    def label(self) -> str:
        """A short human name, e.g. 'openai:gpt-4o-mini @ http://127.0.0.1:11434/v1'."""
        if self.provider == "embedded":
            return f"embedded:{Path(self.model).name}" if self.model else "embedded:gemma-3-270m (default)"
        name = f"{self.provider}:{self.model}" if self.model else self.provider
        return f"{name} @ {self.base_url}" if self.base_url else name

    @property
    def is_embedded_default(self) -> bool:
        return self.provider == "embedded" and not self.model


def parse_model_spec(text: str, *, source: str = "command line") -> ModelSpec:
    """Parse `PROVIDER[:MODEL][@BASE_URL]`, e.g. `openai:gpt-4o-mini`, `embedded`, `openai:llama3.1@http://127.0.0.1:11434/v1`."""
    raw = text.strip()
    base_url = None
    if "@" in raw:
        raw, base_url = raw.split("@", 1)
    provider, _, model = raw.partition(":")
    if provider not in ("openai", "embedded", "fake"):
        raise ConfigError(
            f"{source}: unknown model provider '{provider}' in '{text}'; use openai[:MODEL][@URL], embedded[:PATH.gguf] or fake"
        )
    return ModelSpec(provider=provider, model=model or None, base_url=base_url or None, source=source)


def _config_file() -> Path | None:
    explicit = os.environ.get("RAPPORT_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"RAPPORT_CONFIG points to {path}, which does not exist")
        return path
    for candidate in (Path.cwd() / "rapport.toml", rapport_home() / "rapport.toml"):
        if candidate.is_file():
            return candidate
    return None


def _from_toml(role: Role, path: Path) -> ModelSpec | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    table = data.get("models", {}).get(role.value)
    if table is None:
        return None
    try:
        return ModelSpec(**table, source=f"{path} [models.{role.value}]")
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: models.{role.value}.{field}: {first['msg']}") from None


def _from_env(role: Role) -> ModelSpec | None:
    prefix = f"RAPPORT_{role.value.upper()}_"
    text = os.environ.get(prefix + "MODEL")
    if not text:
        return None
    spec = parse_model_spec(text, source=prefix + "MODEL")
    updates = {}
    if os.environ.get(prefix + "BASE_URL"):
        updates["base_url"] = os.environ[prefix + "BASE_URL"]
    if os.environ.get(prefix + "API_KEY_ENV"):
        updates["api_key_env"] = os.environ[prefix + "API_KEY_ENV"]
    return spec.model_copy(update=updates) if updates else spec


def _default(role: Role) -> ModelSpec | None:
    if os.environ.get("OPENAI_API_KEY"):
        return ModelSpec(
            provider="openai",
            model=DEFAULT_OPENAI_MODEL,
            base_url=os.environ.get("OPENAI_BASE_URL") or None,
            source="default (OPENAI_API_KEY is set)",
        )
    if role is Role.JUDGE:
        return None  # the tiny embedded model is too weak to judge; the offline scorecard is used instead
    return ModelSpec(provider="embedded", source="default (no OPENAI_API_KEY)")


def resolve_model_spec(role: Role | str, override: ModelSpec | str | None = None) -> ModelSpec | None:
    """The model for `role`; None means the role is not configured (only possible for `judge`)."""
    role = Role(role)
    if isinstance(override, str):
        override = parse_model_spec(override)
    if override is not None:
        return override
    found = _from_env(role)
    if found is not None:
        return found
    path = _config_file()
    if path is not None:
        found = _from_toml(role, path)
        if found is not None:
            return found
    return _default(role)
