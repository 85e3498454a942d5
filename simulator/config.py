"""Model roles and where their settings come from: CLI > environment > rapport.toml > defaults.

Each role (`persona`, `judge`, `learner`) is configured on its own, so the persona can run on the
embedded model while a stronger model judges.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from .errors import ConfigError
from .settings import settings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class Role(StrEnum):
    PERSONA = "persona"
    JUDGE = "judge"
    LEARNER = "learner"


class ModelSpec(BaseModel):
    """How to reach one chat model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str = Field(description="A registered provider: openai (any OpenAI-compatible endpoint), embedded "
                          "(llama.cpp), fake, or one a plugin registers (see simulator/models/registry.py).")
    model: str | None = Field(
        default=None,
        description="Model name for openai; for embedded, qwen-1.5b (the default), qwen-0.5b, gemma-270m or a path to a"
                    " .gguf file.",
    )
    base_url: str | None = Field(default=None, description="OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1.")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="Environment variable holding the API key.")
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout: float = Field(default=60.0, gt=0, description="Seconds before one model call is abandoned.")
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries with backoff on 429, 5xx and timeouts.")
    source: str = Field(default="default", description="Where this setting came from (for messages).")

    @field_validator("provider")
    @classmethod
    def _registered(cls, value: str) -> str:
        from .models import registry  # imported here: the provider modules import this one

        if not registry.is_registered(value):
            raise PydanticCustomError("unknown_provider", "unknown model provider '{name}'; use {usage}",
                                      {"name": value[:40], "usage": registry.usage()})
        return value

    @property
    def label(self) -> str:
        """A short human name, e.g. 'openai:gpt-4o-mini @ http://127.0.0.1:11434/v1'."""
        from .models.registry import provider_for

        return provider_for(self).label(self)

    @property
    def is_embedded_default(self) -> bool:
        """The bundled small model, too weak to judge or to write a persona."""
        from .models.registry import provider_for

        return provider_for(self).is_weak_default(self)

    @property
    def user_supplied(self) -> bool:
        """True for an endpoint a user typed in Settings: it never gets a key from the server's environment."""
        return False

    @property
    def cache_key(self) -> str:
        """Identifies the model this spec builds, for sharing built models between sessions."""
        return self.model_dump_json(exclude={"source"})


USER_ENDPOINTS_ENV = "RAPPORT_ALLOW_USER_ENDPOINTS"
USER_ENDPOINT_SOURCE = "your own endpoint (Settings)"


class UserEndpoint(ModelSpec):
    """An OpenAI-compatible endpoint a user typed in Settings, allowed only when the operator opts in.

    It carries only the user's own key: `api_key_for` never reads the environment for it, and the key is left
    out of every dump and repr, so it cannot reach the session store, an export or a log line.
    """

    provider: Literal["openai"] = "openai"
    model: str = Field(min_length=1, max_length=200, description="Model name at the endpoint.")
    base_url: str = Field(max_length=2000, description="http(s) URL of the endpoint.")
    api_key: SecretStr | None = Field(default=None, exclude=True, repr=False, description="The user's own key.")
    api_key_env: str = Field(default="", description="Unused: a user endpoint never reads the environment.")
    source: str = USER_ENDPOINT_SOURCE

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("the URL has spaces or control characters")
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("use an http:// or https:// URL, e.g. https://example.org/v1")
        if parts.username or parts.password:
            raise ValueError("put the key in the key field, not in the URL")  # the URL is shown and stored
        return value

    @property
    def user_supplied(self) -> bool:
        return True

    @property
    def label(self) -> str:
        # Shown and stored with sessions: without any query string, where a user might have put a token.
        parts = urlsplit(self.base_url)
        return f"openai:{self.model} @ {parts.scheme}://{parts.netloc}{parts.path}"

    @property
    def cache_key(self) -> str:
        # Two users of one URL must never share a model built with the other's key.
        secret = self.api_key.get_secret_value() if self.api_key else ""
        return super().cache_key + hashlib.sha256(secret.encode()).hexdigest()


def parse_model_spec(text: str, *, source: str = "command line") -> ModelSpec:
    """Parse `PROVIDER[:MODEL][@BASE_URL]`, e.g. `openai:gpt-4o-mini`, `embedded`, `openai:llama3.1@http://127.0.0.1:11434/v1`."""
    raw = text.strip()
    base_url = None
    if "@" in raw:
        raw, base_url = raw.split("@", 1)
    provider, _, model = raw.partition(":")
    from .models import registry  # imported here: the provider modules import this one

    if not registry.is_registered(provider):
        raise ConfigError(f"{source}: unknown model provider '{provider[:40]}' in '{text[:200]}'; use {registry.usage()}")
    return ModelSpec(provider=provider, model=model or None, base_url=base_url or None, source=source)


def _config_file() -> Path | None:
    return settings().config_file  # found once, by the settings object: RAPPORT_CONFIG, ./, then <home>/


def _toml_data(path: Path) -> dict:
    from .data_files import read_toml_file

    return read_toml_file(path)  # size-bounded; syntax errors are one line naming the file


def _section(path: Path, name: str) -> dict:
    """The `[name]` table of the config file, or {} when it has none."""
    value = _toml_data(path).get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {name}: expected a table [{name}]")
    return value


def _spec_from_table(path: Path, where: str, table: object) -> ModelSpec:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: {where}: expected a table")
    try:
        return ModelSpec(**{**table, "source": f"{path} [{where}]"})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: {where}.{field}: {first['msg']}") from None


def _from_toml(role: Role, path: Path) -> ModelSpec | None:
    table = _section(path, "models").get(role.value)
    if table is None:
        return None
    return _spec_from_table(path, f"models.{role.value}", table)


def _from_env(role: Role) -> ModelSpec | None:
    prefix = f"RAPPORT_{role.value.upper()}_"
    variables = settings().model_role(role.value)
    text = variables.model
    if not text:
        return None
    spec = parse_model_spec(text, source=prefix + "MODEL")
    updates = {}
    if variables.base_url:
        updates["base_url"] = variables.base_url
    if variables.api_key_env:
        updates["api_key_env"] = variables.api_key_env
    return spec.model_copy(update=updates) if updates else spec


def _default(role: Role) -> ModelSpec | None:
    current = settings()
    if current.openai_api_key is not None:
        return ModelSpec(
            provider="openai",
            model=DEFAULT_OPENAI_MODEL,
            base_url=current.openai_base_url,
            source="default (OPENAI_API_KEY is set)",
        )
    if role is Role.JUDGE:
        return None  # the small embedded models are too weak to judge; the offline scorecard is used instead
    return ModelSpec(provider="embedded", source="default (no OPENAI_API_KEY)")


ENDPOINT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def named_endpoints() -> dict[str, ModelSpec]:
    """The operator's extra endpoints, `[endpoints.NAME]` tables in rapport.toml (fields as in `[models.ROLE]`).

    With the role defaults these are the only endpoints a Settings user can choose; each keeps its own key variable.
    """
    path = _config_file()
    if path is None:
        return {}
    found = {}
    for name, table in _section(path, "endpoints").items():
        if not ENDPOINT_NAME.fullmatch(name):
            raise ConfigError(f"{path}: endpoints.{name[:40]}: use letters, digits, '_', '.' or '-' (at most 64)")
        found[name] = _spec_from_table(path, f"endpoints.{name}", table)
    return found


def user_endpoints_allowed() -> bool:
    """Whether Settings may offer users their own endpoint: RAPPORT_ALLOW_USER_ENDPOINTS, else
    `[ui] allow_user_endpoints` in rapport.toml; off by default."""
    return settings().allow_user_endpoints  # env > rapport.toml > off; a bad value is a one-line ConfigError


def user_endpoint(base_url: str, model: str, api_key: str | None = None) -> UserEndpoint:
    """The endpoint a user typed in Settings, with only their own key; `ConfigError` (one line) when the operator
    has not allowed user endpoints or the URL is not an http(s) URL."""
    if not user_endpoints_allowed():
        raise ConfigError("this server only uses the endpoints its operator configured; choose one from the list")
    try:
        return UserEndpoint(base_url=base_url, model=model.strip(), api_key=api_key or None)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = {"base_url": "URL", "model": "model name"}.get(str(first["loc"][0]) if first["loc"] else "", "endpoint")
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"your own endpoint: {field}: {message}") from None


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
