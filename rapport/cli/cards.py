"""`rapport personas import` / `export`: Character Cards (V1/V2/V3, JSON or PNG) in and out of Rapport."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from simulator.errors import RapportError
from simulator.paths import user_personas_dir
from simulator.persona import PersonaLibrary
from simulator.persona.card_mapping import IMPORT_NOTES
from simulator.persona.cards import card_to_persona, export_card, read_card, save_imported_persona
from simulator.persona.library import Origin, persona_files

from .personas import personas_app
from .root import err


class CardFormat(StrEnum):
    CCV2 = "ccv2"
    CCV3 = "ccv3"


@personas_app.command("import")
def import_card(
    card: Path = typer.Argument(..., help="A Character Card: .json, or a .png with the card embedded."),
    force: bool = typer.Option(False, "--force", help="Overwrite a persona file with the same id."),
) -> None:
    """Import a Character Card as a persona in your persona folder; prints the new persona's id."""
    data = read_card(card)
    library = PersonaLibrary()
    folder = user_personas_dir()
    taken = set(library.ids()) | {path.stem for path in persona_files(folder)}  # also files that fail to load
    spec = card_to_persona(data, taken_ids=taken)
    path = save_imported_persona(spec, folder, card, force=force)  # refused unless the written file loads back
    typer.echo(spec.id)
    err.print(f"imported {card} as {path}", markup=False, soft_wrap=True)
    if spec.id in library.ids() and library.source(spec.id).origin is Origin.BUNDLED:
        note = f"note: it replaces the bundled persona '{spec.id}' for you; delete {path} to get that back"
        err.print(note, markup=False, soft_wrap=True)
    notes = spec.card_extensions.get(IMPORT_NOTES) or []
    if notes:
        err.print(f"Filled in with defaults; edit {path} to make them fit:", markup=False, soft_wrap=True)
        for note in notes:
            err.print(f"  - {note}", markup=False, soft_wrap=True)


@personas_app.command("export")
def export(
    persona_id: str = typer.Argument(..., help="Persona id, as shown by `rapport personas list`."),
    card_format: CardFormat = typer.Option(..., "--format", help="ccv2 (Character Card V2) or ccv3 (V3)."),
    png: bool = typer.Option(False, "--png", help="A PNG picture with the card embedded, instead of JSON."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUTPUT if it exists."),
) -> None:
    """Export a persona as a Character Card (JSON on stdout, or a file)."""
    if png and output is None and sys.stdout.isatty():
        raise RapportError("refusing to write a PNG image to the terminal; give a file with -o FILE")
    if output is not None and output.exists() and not force:
        raise RapportError(f"{output} already exists; use --force to overwrite it")
    contents = export_card(PersonaLibrary().get(persona_id), card_format.value, png)
    if output is None:
        sys.stdout.buffer.write(contents)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(contents)
    except OSError as exc:
        raise RapportError(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"wrote {output}", markup=False, soft_wrap=True)
