"""Every setting Rapport reads, in one pydantic-settings object: command line > environment > rapport.toml > defaults.

Modules ask `settings()` instead of reading the environment, and each value remembers where it came from, so
`rapport config` can say so. rapport.toml is found as always (RAPPORT_CONFIG, else ./rapport.toml, else
<RAPPORT_HOME>/rapport.toml) and read by the bounded loader. Its top-level keys are the variables' names without
`RAPPORT_`, in lower case (`reader = "judge"`, `runs_dir = "runs"`); `[ui] allow_user_endpoints` keeps its place;
its `[models.*]` and `[endpoints.*]` tables belong to the model configuration (simulator/config.py).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from .data_files import MAX_CONFIG_BYTES, read_toml_file
from .errors import ConfigError

PREFIX = "RAPPORT_"
CONFIG_ENV = "RAPPORT_CONFIG"
HOME_ENV = "RAPPORT_HOME"
COMMAND_LINE = "command line"
DEFAULT = "default"
UI_TABLE_KEY = "allow_user_endpoints"  # the one setting that lives in a table: `[ui] allow_user_endpoints`
OTHER_TABLES = ("models", "endpoints", "ui")  # read by simulator/config.py
# Never taken from rapport.toml: where that file is, the model roles (their file form is `[models.ROLE]`), keys,
# and what gradio reads itself.
ENVIRONMENT_ONLY = frozenset({
    "config", "home", "openai_api_key", "openai_base_url", "gradio_server_name", "gradio_server_port", "gradio_temp_dir",
    "providers",  # names modules to import: a rapport.toml in the working directory must not run code
    *(f"{role}_{part}" for role in ("persona", "judge", "learner", "listen", "speak") for part in ("model", "base_url", "api_key_env")),
})
LISTS = {"personas": os.pathsep, "rubrics": os.pathsep, "providers": ","}  # separators in one variable
SECRETS = ("openai_api_key", "database_url")  # never echoed: a database URL can carry a password
# Why a value was refused, where pydantic's own words would not say what to type instead.
HINTS = {"allow_user_endpoints": "use 1 or 0 (true or false in rapport.toml)"}


def _default_home() -> Path:
    return Path.home() / ".rapport"


class Settings(BaseSettings):
    """Rapport's configuration; `source(name)` says where each value came from."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_ignore_empty=True, extra="forbid", frozen=True, populate_by_name=True
    )

    config: Path | None = Field(None, description="The rapport.toml to read.")
    home: Path = Field(default_factory=_default_home, description="Rapport's directory: store, personas, vectors.")
    user_personas: Path | None = Field(None, description="Shared personas (default: <home>/personas).")
    personas: str = Field("", description="More persona files or folders, separated by the OS path separator.")
    model_cache: Path | None = Field(None, description="Assembled model files (default: ~/.cache/rapport/models).")
    rubrics: str = Field("", description="More rubric folders, separated by the OS path separator.")
    runs_dir: Path = Field(Path("runs"), description="Where eval-suite runs are written and listed.")
    learner: str = Field("local", description="The learner without a login (CLI sessions, memory).")
    auth: Path | None = Field(None, description="The users file; setting it turns on logins.")
    allow_user_endpoints: bool = Field(False, description="Whether Settings users may type their own endpoint.")
    database_url: str | None = Field(None, description="SQLAlchemy URL (default: SQLite in <home>).")
    chroma_path: Path | None = Field(None, description="Local vector store directory (default: <home>/chroma).")
    chroma_host: str | None = Field(None, description="A Chroma server to use instead of the local directory.")
    # Checked where it is used (a VectorStoreError naming it), so a bad port breaks only the vector store.
    chroma_port: str | None = Field(None, description="The Chroma server's port (default: 8000).")
    embeddings: str | None = Field(None, description="minilm (offline, default), openai:MODEL or openai:MODEL@URL.")
    embeddings_api_key_env: str | None = Field(None, description="Variable holding the embeddings key.")
    minilm_onnx: Path | None = Field(None, description="A MiniLM ONNX graph to use instead of the packaged one.")
    embed_threads: int | None = Field(None, description="Embedding threads (default: cores, at most 2).")
    llama_threads: int | None = Field(None, description="llama.cpp threads (default: all cores).")
    coder: str | None = Field(None, description="off/rules: read turns with phrase rules only.")
    reader: str | None = Field(None, description="What reads live turns: coder (default), rules or judge.")
    providers: str = Field("", description="More model-provider modules to import, separated by commas.")
    persona_model: str | None = None
    persona_base_url: str | None = None
    persona_api_key_env: str | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    judge_api_key_env: str | None = None
    learner_model: str | None = None
    learner_base_url: str | None = None
    learner_api_key_env: str | None = None
    # Voice roles (simulator/voice/base.py): offline unless set.
    listen_model: str | None = Field(None, description="What hears the learner: embedded (offline Whisper), openai:MODEL@URL or fake.")
    listen_base_url: str | None = None
    listen_api_key_env: str | None = None
    speak_model: str | None = Field(None, description="The persona's voice: embedded (offline Piper), openai:MODEL@URL or fake.")
    speak_base_url: str | None = None
    speak_api_key_env: str | None = None
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    gradio_server_name: str | None = Field(None, validation_alias="GRADIO_SERVER_NAME")
    gradio_server_port: str | None = Field(None, validation_alias="GRADIO_SERVER_PORT")
    gradio_temp_dir: str | None = Field(None, validation_alias="GRADIO_TEMP_DIR")

    _sources: dict[str, str] = {}
    _config_file: Path | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _lists_and_spaces(cls, value: Any, info: ValidationInfo) -> Any:
        # In rapport.toml a list setting may be a TOML list. (Blank values never get here: see `_Remembered`.)
        separator = LISTS.get(info.field_name or "")
        if separator and isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = separator.join(value)
        return value.strip() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Command line (init arguments) > environment > rapport.toml; no .env or secrets directories."""
        sources: list[PydanticBaseSettingsSource] = [
            _CommandLine(settings_cls, dict(getattr(init_settings, "init_kwargs", {}))),
            _Environment(settings_cls),
        ]
        path = config_file()
        if path is not None:
            sources.append(_RapportToml(settings_cls, path))
        used = _building.get()
        if used is not None:
            used.extend(sources)
        return tuple(sources)

    @property
    def config_file(self) -> Path | None:
        """The rapport.toml these settings were read from, if any."""
        return self._config_file

    def source(self, name: str) -> str:
        """Where setting `name` came from: 'command line', a variable's name, 'FILE: key', or 'default'."""
        return self._sources.get(name, DEFAULT)

    def model_role(self, role: str) -> RoleVariables:
        """RAPPORT_<ROLE>_MODEL / _BASE_URL / _API_KEY_ENV for a model role."""
        return RoleVariables(*(getattr(self, f"{role}_{part}") for part in ("model", "base_url", "api_key_env")))

    def secret(self, name: str) -> str | None:
        """The variable `name`, which a model or embeddings spec names as holding its key.

        Read when asked and never kept here, so no key sits in this object, its dump or `rapport config`."""
        return os.environ.get(name) if name else None

    def rows(self) -> list[SettingRow]:
        """Every setting as (variable, value shown, source), secrets masked."""
        return [SettingRow(variable_name(name), _shown(name, getattr(self, name)), self.source(name))
                for name in type(self).model_fields]


class RoleVariables(NamedTuple):
    model: str | None
    base_url: str | None
    api_key_env: str | None


class SettingRow(NamedTuple):
    variable: str
    value: str
    source: str


def variable_name(name: str) -> str:
    """The environment variable behind setting `name`."""
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else PREFIX + name.upper()


def setting_for(name: str) -> str:
    """The setting a user named, by its variable (RAPPORT_READER) or its rapport.toml key (reader)."""
    for field in Settings.model_fields:
        if name.lower() in (field, variable_name(field).lower()):
            return field
    raise ConfigError(f"{name[:60]!r} is not a setting; `rapport config` lists them")


def _field_of(key: str) -> str:
    for name, field in Settings.model_fields.items():
        if key == name or key == field.validation_alias:
            return name
    return key


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "(not set)"
    if isinstance(value, SecretStr):
        return "(set, hidden)"
    if name == "database_url":  # postgresql://user:PASSWORD@host/db
        parts = urlsplit(value)
        if parts.password:
            return value.replace(f":{parts.password}@", ":***@", 1)
    return str(value)


class _Remembered:
    """A source that keeps what it found, so each value can name where it came from."""

    found: dict[str, Any]

    def __call__(self) -> dict[str, Any]:
        found = super().__call__()  # type: ignore[misc]
        # As before, a blank value (`VAR=" "`, `--set reader=`) means unset: the next source or the default decides.
        self.found = {key: value for key, value in found.items() if not (isinstance(value, str) and not value.strip())}
        return self.found

    def describe(self, name: str) -> str:
        raise NotImplementedError


class _CommandLine(_Remembered, InitSettingsSource):
    def describe(self, name: str) -> str:
        return COMMAND_LINE


class _Environment(_Remembered, EnvSettingsSource):
    def describe(self, name: str) -> str:
        return variable_name(name)


class _RapportToml(_Remembered, TomlConfigSettingsSource):
    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        super().__init__(settings_cls, toml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return _toml_settings(self.path, read_toml_file(self.path))  # size-bounded; errors are one line

    def describe(self, name: str) -> str:
        return f"{self.path}: {'[ui] ' if name == UI_TABLE_KEY else ''}{name}"


def _toml_settings(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The settings in a rapport.toml: its top-level keys, and `[ui] allow_user_endpoints`."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in OTHER_TABLES:
            continue
        if key not in Settings.model_fields or key in ENVIRONMENT_ONLY:
            if isinstance(value, dict):
                continue  # a table for another part of Rapport
            hint = "set it in the environment" if key in ENVIRONMENT_ONLY else "`rapport config` lists the settings"
            raise ConfigError(f"{path}: {key[:60]}: not a setting rapport.toml can hold; {hint}")
        values[key] = value
    ui = data.get("ui", {})
    if not isinstance(ui, dict):
        raise ConfigError(f"{path}: ui: expected a table [ui]")
    if UI_TABLE_KEY in ui:
        if not isinstance(ui[UI_TABLE_KEY], bool):
            raise ConfigError(f"{path}: ui.{UI_TABLE_KEY}: use true or false")
        values[UI_TABLE_KEY] = ui[UI_TABLE_KEY]
    return values


def config_file() -> Path | None:
    """RAPPORT_CONFIG (which must exist), else ./rapport.toml, else <RAPPORT_HOME>/rapport.toml."""
    explicit = os.environ.get(CONFIG_ENV, "").strip()
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV} points to {path}, which does not exist")
        return path
    home = Path(os.environ.get(HOME_ENV, "").strip() or _default_home()).expanduser()
    for candidate in (Path.cwd() / "rapport.toml", home / "rapport.toml"):
        if candidate.is_file():
            return candidate
    return None


_building: ContextVar[list | None] = ContextVar("rapport_settings_sources", default=None)


def load(command_line: Mapping[str, Any] | None = None) -> Settings:
    """Read the settings afresh; `command_line` (setting name -> value) beats everything else.

    A malformed value is a one-line `ConfigError` naming the variable (or file and key) that holds it."""
    used: list[_Remembered] = []
    token = _building.set(used)
    try:
        made = Settings(**dict(command_line or {}))
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, used)) from None
    finally:
        _building.reset(token)
    made._sources = _sources(used)
    made._config_file = next((s.path for s in used if isinstance(s, _RapportToml)), None)
    return made


def _sources(used: list[_Remembered]) -> dict[str, str]:
    found: dict[str, str] = {}
    for source in used:  # highest priority first
        for key in getattr(source, "found", {}):
            found.setdefault(_field_of(key), source.describe(_field_of(key)))
    return found


def _one_line(exc: ValidationError, used: list[_Remembered]) -> str:
    first = exc.errors(include_url=False)[0]
    name = _field_of(str(first["loc"][0])) if first["loc"] else ""
    where = _sources(used).get(name, name or "settings")
    message = HINTS.get(name) or first["msg"].removeprefix("Value error, ")
    value = first.get("input")
    if name in Settings.model_fields and where == variable_name(name) and name not in SECRETS and isinstance(value, str):
        where = f"{where}={value[:40]!r}"
    return f"{where}: {message}"


# One cached object, rebuilt when anything it depends on changes: the variables it reads, the working directory
# and the config file. Tests that set a variable therefore see it at once; `reset_settings` drops the cache.
_WATCHED = (PREFIX, "OPENAI_", "GRADIO_", "HOME")
_lock = threading.Lock()
_cached: tuple[Any, Settings] | None = None


def _fingerprint() -> Any:
    variables = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_WATCHED)))
    path = config_file()
    content = None
    if path is not None:  # its bytes, not its mtime: a file rewritten within one clock tick must still count
        try:
            if path.stat().st_size <= MAX_CONFIG_BYTES:
                content = path.read_bytes()
        except OSError:
            pass
    return variables, os.getcwd(), path, content


def settings() -> Settings:
    """The current settings (from the environment and rapport.toml as they are now)."""
    global _cached
    key = _fingerprint()
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        made = load()
        _cached = (key, made)
    return made


def reset_settings() -> None:
    """Forget the cached settings (tests)."""
    global _cached
    with _lock:
        _cached = None


def quiet_library(name: str, value: str = "False", *, keep_user_choice: bool = False) -> None:
    """Set a switch a third-party library reads from the environment when imported (its telemetry, say).

    With `keep_user_choice`, a value the user already set wins."""
    if keep_user_choice:
        os.environ.setdefault(name, value)
    else:
        os.environ[name] = value
