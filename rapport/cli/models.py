"""`rapport models`: which model plays each role, and a connection test."""

from __future__ import annotations

import time

import typer
from rich.table import Table
from rich.text import Text

from simulator.config import Role, named_endpoints, resolve_model_spec, user_endpoints_allowed
from simulator.errors import ConfigError
from simulator.model_reading import READER_ENV, reader_setting
from simulator.models import build_chat_model, describe_model_error
from simulator.models import gguf_catalog
from simulator.models.registry import ENTRY_POINT_GROUP, PLUGINS_ENV
from simulator.models.registry import names as provider_names

from .root import app, err, out, table_console

models_app = typer.Typer(help="Show and test the models behind each role.", invoke_without_command=True)
app.add_typer(models_app, name="models")


def _row(table: Table, *cells: str) -> None:
    """A table row shown literally: sources such as `rapport.toml [endpoints.team]` are not Rich markup."""
    table.add_row(*(Text(cell) for cell in cells))


@models_app.callback()
def show(ctx: typer.Context) -> None:
    """Show the model configured for each role and where the setting comes from."""
    if ctx.invoked_subcommand is not None:
        return
    table = Table("role", "model", "configured by", box=None, pad_edge=False)
    for role in Role:
        spec = resolve_model_spec(role)
        if spec is None:
            _row(table, role.value, "(none: the offline scorecard is used)", f"set RAPPORT_{role.value.upper()}_MODEL")
        else:
            _row(table, role.value, spec.label, spec.source)
    for name, spec in named_endpoints().items():  # what Settings users may choose besides the defaults
        _row(table, f"endpoint {name}", spec.label, spec.source)
    _row(table, "own endpoints in Settings", "allowed" if user_endpoints_allowed() else "not allowed",
                  "RAPPORT_ALLOW_USER_ENDPOINTS / [ui] allow_user_endpoints")
    _row(table, "providers", ", ".join(provider_names()),
         f"built in, {PLUGINS_ENV} and {ENTRY_POINT_GROUP} entry points (simulator/models/registry.py)")
    reading, source = reader_setting()
    _row(table, "turns read by", reading, source if source != "default" else f"default (set {READER_ENV}=judge for the judge)")
    table_console().print(table)
    embedded = Table("embedded model", "what it is", "size", "licence", "installed", "on 2 cores", box=None,
                     pad_edge=False, title="Offline models (choose with RAPPORT_PERSONA_MODEL=embedded:NAME)",
                     title_justify="left")
    for choice in gguf_catalog.choices():
        _row(embedded, choice.name + (" (default)" if choice.default else ""), choice.title, f"{choice.megabytes} MB",
             choice.licence, "yes" if choice.installed else "no", choice.speed)
    table_console().print(embedded)


@models_app.command("test")
def test(role: Role = typer.Argument(Role.PERSONA, help="Which role's model to test."),
         endpoint: str | None = typer.Option(None, help="Test the [endpoints.NAME] endpoint from rapport.toml instead.")) -> None:
    """Send one short message to the model of ROLE and report the answer and the time it took."""
    from langchain_core.messages import HumanMessage

    if endpoint is not None:
        endpoints = named_endpoints()
        if endpoint not in endpoints:
            known = ", ".join(endpoints) or "none configured"
            raise ConfigError(f"no endpoint named '{endpoint[:60]}' in rapport.toml (known: {known})")
        spec = endpoints[endpoint]
    else:
        spec = resolve_model_spec(role)
    if spec is None:
        err.print(f"no {role.value} model is configured; set RAPPORT_{role.value.upper()}_MODEL")
        raise typer.Exit(1)
    model = build_chat_model(spec, role)
    started = time.perf_counter()
    try:
        reply = model.invoke([HumanMessage("Say hello in five words.")], max_tokens=16)
    except Exception as exc:  # noqa: BLE001 - reported as one line
        raise describe_model_error(exc, spec, role) from exc
    elapsed = time.perf_counter() - started
    out.print(f"ok: {spec.label} answered in {elapsed:.2f}s: {str(reply.content).strip()[:80]!r}", markup=False)
