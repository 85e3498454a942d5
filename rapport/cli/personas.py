"""`rapport personas ...`: list, show, validate and describe persona files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from simulator.data_files import read_text
from simulator.errors import ConfigError, DataFileError, Problem, RapportError
from simulator.paths import bundled_personas_dir, user_personas_dir
from simulator.persona import PersonaLibrary, load_persona
from simulator.persona.library import Origin, persona_files
from simulator.persona.lint import lint_file
from simulator.persona.loader import persona_json_schema_text
from simulator.persona.spec import Domain

from .root import app, err, out, table_console

personas_app = typer.Typer(help="List, show, validate and author personas.", no_args_is_help=True)
app.add_typer(personas_app, name="personas")


@personas_app.command("list")
def list_personas(domain: Domain | None = typer.Option(None, help="Only this domain.")) -> None:
    """List every persona you can practise with, and the file each comes from."""
    library = PersonaLibrary()
    console = table_console()
    with_role = console.width >= 110  # in a narrow terminal the role gives way, never the id or the file
    # The id is what you type next: it never wraps or truncates.
    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, style="bold", min_width=max((len(i) for i in library.ids()), default=2))
    table.add_column("domain", no_wrap=True, min_width=max(len(d.value) for d in Domain))
    table.add_column("name", overflow="ellipsis", no_wrap=True, min_width=10, max_width=24)
    if with_role:
        table.add_column("role", overflow="ellipsis", no_wrap=True, min_width=10, max_width=48)
    table.add_column("from", overflow="fold", min_width=len("bundled"))
    for source in library:
        spec = source.spec
        if domain is not None and spec.domain != domain:
            continue
        where = source.origin.value if source.origin is Origin.BUNDLED else f"{source.origin.value}: {_short_path(source.path)}"
        if source.overrides is not None:
            where += " (overrides bundled)" if source.overrides.parent == bundled_personas_dir() else " (overrides another)"
        role = [spec.role.split(";")[0]] if with_role else []
        table.add_row(spec.id, spec.domain.value, spec.name, *role, where)
    console.print(table)
    console.print(f"[dim]bundled: {_short_path(bundled_personas_dir())}/ · user: {_short_path(user_personas_dir())}/"
                  " · extra folders: RAPPORT_PERSONAS[/]")
    for problem in library.problems:
        err.print(f"warning: skipped {problem}", markup=False)


def _short_path(path: Path) -> str:
    """The shortest of: relative to the working directory, under ~, absolute."""
    path = Path(path).resolve()
    candidates = [str(path)]
    for base, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        if path.is_relative_to(base) and path != base:
            candidates.append(prefix + str(path.relative_to(base)))
    return min(candidates, key=len)


@personas_app.command("show")
def show(persona_id: str = typer.Argument(..., help="Persona id, as shown by `rapport personas list`.")) -> None:
    """Print a persona's YAML file."""
    library = PersonaLibrary()
    if persona_id not in library.ids():
        broken = [p for p in library.problems if Path(p.path).stem == persona_id]
        if broken:  # say why the file is not a persona rather than that the persona does not exist
            raise DataFileError(broken)
    source = library.source(persona_id)
    err.print(f"# {source.origin.value}: {source.path}", markup=False)
    typer.echo(read_text(source.path), nl=False)


@personas_app.command("validate")
def validate(paths: list[Path] = typer.Argument(None, help="Files or folders; default: every persona Rapport loads.")) -> None:
    """Check persona files; print every error as `path:line: field: message`; exit 2 on any error."""
    files = _files(paths)
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
        raise typer.Exit(2)


@personas_app.command("lint")
def lint(paths: list[Path] = typer.Argument(None, help="Files or folders; default: every persona Rapport loads.")) -> None:
    """Quality warnings that validation does not catch; exit 1 if there are any, 2 if a file is invalid."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    files = _files(paths)
    for path in files:
        try:
            warnings.extend(lint_file(path))
            warnings.extend(_rubric_problems(path))
        except DataFileError as exc:  # the file does not load at all: an error, as `personas validate` says
            errors.extend(exc.problems)
    for problem in errors:
        typer.echo(f"error: {problem}")
    for problem in warnings:
        typer.echo(f"warning: {problem}")
    err.print(f"{len(files)} file(s) linted, {len(errors)} error(s), {len(warnings)} warning(s)")
    if errors or warnings:
        raise typer.Exit(2 if errors else 1)


def _rubric_problems(path: Path) -> list[Problem]:
    """A persona's `rubric:` must name a rubric that exists (checked here: the engine does not know rubrics)."""
    from evals.rubric import rubric_paths
    from simulator.yaml_source import line_of, load_yaml, read_text

    spec = load_persona(path)
    if spec.rubric is None or spec.rubric in rubric_paths():
        return []
    line = line_of(load_yaml(read_text(path), path), ("rubric",))
    known = ", ".join(sorted(rubric_paths()))
    return [Problem(str(path), line, "rubric", f"no rubric '{spec.rubric}'; known: {known}")]


def _files(paths: list[Path] | None) -> list[Path]:
    if paths:
        return [f for p in paths for f in (persona_files(p) or [p])]
    library = PersonaLibrary()
    return [f for location, _ in library.sources for f in persona_files(location)]


@personas_app.command("schema")
def schema(output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file instead of stdout.")) -> None:
    """Write the JSON Schema of persona files (for editor validation)."""
    text = persona_json_schema_text()
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")


@personas_app.command("new")
def new(
    from_description: str | None = typer.Option(
        None, "--from-description", help="Draft a complete persona from this description with a model."
    ),
    model: str | None = typer.Option(None, help="Model for drafting (default: the judge model if set, else the persona model)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here instead of the user persona directory."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Create a persona: an interactive wizard, or a drafted one with --from-description."""
    library = PersonaLibrary()
    taken = set(library.ids())
    if from_description:
        spec, text = _drafted(from_description, model, taken)
    else:
        spec, text = _wizard(taken), None
    path = _write(spec, text, output, force)
    typer.echo(spec.id)
    err.print(f"wrote {path}")
    for problem in lint_file(path):
        err.print(f"lint: {problem}", markup=False)
    err.print(f"Try it: rapport chat {spec.id}")


def _write(spec, text: str | None, output: Path | None, force: bool) -> Path:
    from simulator.persona.drafting import with_schema_header
    from simulator.persona.writer import persona_to_yaml, save_persona

    content = with_schema_header(text) if text else persona_to_yaml(spec)
    if output is None:
        return save_persona(spec, user_personas_dir(), force=force, text=content)
    if output.exists() and not force:
        from simulator.persona.writer import PersonaExistsError

        raise PersonaExistsError(f"{output} already exists; use --force to overwrite it")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(content, encoding="utf-8")
    return output


def _wizard(taken: set[str]):
    """Ask every question, validating each answer as it is given."""
    from simulator.persona.authoring import assemble_persona, check_trigger, parse_answer, repeating_groups, wizard_questions

    err.print("[bold]New persona[/] — answer each question; press Enter to accept the [default].")
    answers: dict = {}
    for question in wizard_questions(taken):
        answers[question.key] = _ask(question, answers)
    for group in repeating_groups():
        answers[group.key] = []
        err.print(f"\n[bold]{group.title}[/] (at least {group.minimum}; leave the first answer empty to finish)")
        while True:
            item: dict = {}
            first, *rest = group.questions
            item[first.key] = _ask(first, answers)
            if not item[first.key]:
                if len(answers[group.key]) >= group.minimum:
                    break
                err.print(f"  please give at least {group.minimum}")
                continue
            for question in rest:
                item[question.key] = _ask(question, answers)
            if group.key in ("builds", "breaks"):
                try:
                    check_trigger(item)
                except ValueError as exc:
                    err.print(f"  {exc}; this one was not added")
                    continue
            answers[group.key].append(item)
    return assemble_persona(answers)


def _ask(question, answers: dict):
    from simulator.persona.authoring import parse_answer

    while True:
        default = question.default_for(answers)
        raw = typer.prompt(question.prompt, default=default if default is not None else "", show_default=bool(default),
                           err=True)
        if not raw.strip() and question.optional and default is None:
            return None if question.key not in ("keywords",) else []
        try:
            return parse_answer(question, raw, answers)
        except ValueError as exc:
            err.print(f"  [red]{exc}[/]")


def _drafted(description: str, model_spec: str | None, taken: set[str]):
    import asyncio

    from simulator.config import Role, resolve_model_spec
    from simulator.models import build_chat_model, describe_model_error
    from simulator.paths import rapport_home
    from simulator.persona.drafting import DraftError, draft_persona, save_draft_for_fixing

    spec = resolve_model_spec(Role.PERSONA, model_spec) if model_spec else (
        resolve_model_spec(Role.JUDGE) or resolve_model_spec(Role.PERSONA)
    )
    if model_spec is None and spec.is_embedded_default:
        # Like judging, writing a whole valid persona is beyond the small embedded models: say so instead of failing twice.
        raise ConfigError(
            "drafting a persona needs a capable model and the embedded models are too small to write one: set"
            " OPENAI_API_KEY, or RAPPORT_JUDGE_MODEL=openai:MODEL@URL (Ollama, vLLM, LM Studio…), or pass --model;"
            " or run `rapport personas new` without --from-description for the wizard, which needs no model"
        )
    err.print(f"Drafting with {spec.label}…")
    example = (bundled_personas_dir() / "procurement-skeptic.yaml").read_text(encoding="utf-8")
    try:
        draft = asyncio.run(
            draft_persona(description, build_chat_model(spec, Role.PERSONA), example_yaml=example, taken_ids=taken)
        )
    except DraftError as exc:
        path = save_draft_for_fixing(exc.draft, rapport_home() / "drafts")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False)
        raise DraftError(f"{exc}; the draft is saved at {path} for you to fix", exc.draft, exc.problems) from None
    except Exception as exc:  # noqa: BLE001 - model failures become one line
        if isinstance(exc, RapportError):
            raise
        raise describe_model_error(exc, spec, Role.PERSONA) from exc
    if draft.repaired:
        err.print("The first draft had errors; the model repaired it.")
    return draft.spec, draft.text
