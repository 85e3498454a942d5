"""`rapport personas ...`: list, show, validate and describe persona files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from simulator.errors import DataFileError, Problem
from simulator.persona import PersonaLibrary, load_persona
from simulator.persona.library import persona_files
from simulator.persona.loader import persona_json_schema_text
from simulator.persona.spec import Domain

from .root import app, err, out

personas_app = typer.Typer(help="List, show, validate and author personas.", no_args_is_help=True)
app.add_typer(personas_app, name="personas")


@personas_app.command("list")
def list_personas(domain: Domain | None = typer.Option(None, help="Only this domain.")) -> None:
    """List every persona you can practise with, and the file each comes from."""
    library = PersonaLibrary()
    table = Table("id", "name", "domain", "role", "from", box=None, pad_edge=False)
    for source in library:
        spec = source.spec
        if domain is not None and spec.domain != domain:
            continue
        table.add_row(spec.id, spec.name, spec.domain.value, spec.role, f"{source.origin.value}: {source.path}")
    out.print(table)
    for problem in library.problems:
        err.print(f"warning: skipped {problem}", markup=False)


@personas_app.command("show")
def show(persona_id: str = typer.Argument(..., help="Persona id, as shown by `rapport personas list`.")) -> None:
    """Print a persona's YAML file."""
    source = PersonaLibrary().source(persona_id)
    err.print(f"# {source.origin.value}: {source.path}", markup=False)
    typer.echo(source.path.read_text(encoding="utf-8"), nl=False)


@personas_app.command("validate")
def validate(paths: list[Path] = typer.Argument(None, help="Files or folders; default: every persona Rapport loads.")) -> None:
    """Check persona files; print every error as `path:line: field: message`; exit 1 on any error."""
    if paths:
        files = [f for p in paths for f in (persona_files(p) or [p])]
    else:
        library = PersonaLibrary()
        files = [f for location, _ in library.sources for f in persona_files(location)]
    problems: list[Problem] = []
    for path in files:
        try:
            load_persona(path)
        except DataFileError as exc:
            problems.extend(exc.problems)
    for problem in problems:
        typer.echo(str(problem))
    bad = len({p.path for p in problems})
    err.print(f"{len(files)} file(s) checked, {bad} with errors, {len(problems)} error(s)")
    if problems:
        raise typer.Exit(1)


@personas_app.command("schema")
def schema(output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout.")) -> None:
    """Write the JSON Schema of persona files (for editor validation)."""
    text = persona_json_schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
