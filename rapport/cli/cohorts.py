"""`rapport cohorts create|add|remove|list|show|export` and `rapport assign`: a trainer scripts a term's practice.

The CLI runs where the store is, so it acts as the operator (an admin: every cohort); `--trainer` names who
trains a new cohort. With RAPPORT_AUTH set, named users must exist in the users file (trainers as trainers).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from .root import app, err, table_console

cohorts_app = typer.Typer(help="Cohorts of learners, their assigned practice and results (for trainers).",
                          no_args_is_help=True)
app.add_typer(cohorts_app, name="cohorts")


class Format(StrEnum):
    csv = "csv"
    json = "json"


def _teams():
    from simulator.store import TeamStore

    return TeamStore()


def _operator():
    from rapport.service import default_learner
    from simulator.roles import UserRole
    from simulator.store import Viewer

    return Viewer(name=default_learner(), role=UserRole.ADMIN)


def _known(names: list[str], *, trainers: bool = False) -> list[str]:
    """The names, checked against the users file when logins are on (so a typo never becomes a member)."""
    from simulator.errors import ConfigError
    from simulator.settings import settings

    path = settings().auth
    if path is None:
        return names
    from rapport.ui.auth import read_users

    users = read_users(path.expanduser())
    for name in names:
        if name not in users:
            raise ConfigError(f"no user {name!r} in {path}; add them with `rapport users add {name}`")
        if trainers and not users[name].role.trains:
            raise ConfigError(f"{name} is a {users[name].role.value}; a cohort's trainer must be a trainer or admin "
                              f"(`rapport users add {name} --role trainer`)")
    return names


@cohorts_app.command("create")
def create(
    name: str = typer.Argument(..., help="The cohort's name, e.g. 'Nursing spring 2027'."),
    trainer: list[str] = typer.Option([], "--trainer", help="Who trains it (repeat for several)."),
) -> None:
    """Create a cohort; prints its id."""
    made = _teams().create_cohort(name, _operator(), trainers=_known(trainer, trainers=True))
    err.print(f"created {made.name} (trainers: {', '.join(made.trainers)})", markup=False)
    typer.echo(made.id)


@cohorts_app.command("add")
def add(
    cohort: str = typer.Argument(..., help="Cohort name or id."),
    users: list[str] = typer.Argument(..., help="Login names to add."),
    as_trainer: bool = typer.Option(False, "--trainer", help="Add them as trainers of the cohort, not learners."),
) -> None:
    """Add learners (or trainers) to a cohort."""
    found = _teams().add_members(cohort, _known(users, trainers=as_trainer), _operator(),
                                 role="trainer" if as_trainer else "learner")
    err.print(f"{found.name}: trainers {', '.join(found.trainers) or '-'}; learners {', '.join(found.learners) or '-'}",
              markup=False)


@cohorts_app.command("remove")
def remove(cohort: str = typer.Argument(..., help="Cohort name or id."),
           user: str = typer.Argument(..., help="The member to remove.")) -> None:
    """Remove a member from a cohort (their sessions stay theirs)."""
    found = _teams().remove_member(cohort, user, _operator())
    err.print(f"{found.name}: learners {', '.join(found.learners) or '-'}", markup=False)


@cohorts_app.command("unassign")
def unassign(cohort: str = typer.Argument(..., help="Cohort name or id."),
             assignment: str = typer.Argument(..., help="The assignment's id (or its first characters).")) -> None:
    """Withdraw an assignment; its attempts stay the learners' own sessions, no longer counted or reviewed."""
    teams, viewer = _teams(), _operator()
    found = teams.assignment(assignment, viewer, cohort=cohort)
    teams.delete_assignment(found.id, viewer)
    err.print(f"withdrew {found.title} from {found.cohort_name}", markup=False)


@cohorts_app.command("list")
def list_cohorts() -> None:
    """Every cohort: name, id, trainers, learners and assignments."""
    teams, viewer = _teams(), _operator()
    found = teams.cohorts(viewer)
    if not found:
        err.print("No cohorts yet: create one with `rapport cohorts create NAME --trainer LOGIN`.", markup=False)
        return
    counts: dict[str, int] = {}
    for assignment in teams.assignments(viewer):
        counts[assignment.cohort_id] = counts.get(assignment.cohort_id, 0) + 1
    table = Table("name", "id", "trainers", "learners", "assignments")
    for cohort in found:
        table.add_row(cohort.name, cohort.id[:8], ", ".join(cohort.trainers), str(len(cohort.learners)),
                      str(counts.get(cohort.id, 0)))
    table_console().print(table)


@cohorts_app.command("show")
def show(cohort: str = typer.Argument(..., help="Cohort name or id.")) -> None:
    """A cohort's members, assignments, each learner's standing, and who needs attention."""
    from evals.cohort import concerns, standings
    from rapport.service.cohorts import cohort_results
    from simulator.persona import PersonaLibrary

    results = cohort_results(_teams(), cohort, _operator(), PersonaLibrary())
    now = datetime.now(UTC)
    console = table_console()
    console.print(f"{results.cohort.name}: trainers {', '.join(results.cohort.trainers) or '-'}; "
                  f"learners {', '.join(results.cohort.learners) or '-'}", markup=False)
    table = Table("assignment", "id", "persona", "level", "due", "attempts", "pass bar")
    for a in results.assignments:
        table.add_row(a.title, a.id[:8], a.persona_id, a.difficulty.value,
                      a.due_at.strftime("%Y-%m-%d") if a.due_at else "-", str(a.max_attempts), a.pass_bar.describe())
    console.print(table)
    titles = {a.id: a.title for a in results.assignments}
    if results.assignments and results.cohort.learners:
        table = Table("learner", "assignment", "standing", "used", "left")
        for s in standings(results, now):
            table.add_row(s.learner, titles[s.assignment_id], s.standing.value, str(s.used), str(s.left))
        console.print(table)
    for concern in concerns(results, now):
        console.print(f"needs attention: {concern.learner} {concern.reason}", markup=False)


@cohorts_app.command("export")
def export(
    cohort: str = typer.Argument(..., help="Cohort name or id."),
    fmt: Format = typer.Option(Format.csv, "--format", help="csv: one row per attempt; json: everything."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write here instead of standard output."),
    transcripts: str | None = typer.Option(
        None, "--transcripts", help="Instead: a zip of this assignment's transcripts (needs -o)."),
) -> None:
    """Cohort results as CSV or JSON (scores that count, with the machine's beside them); or, with
    --transcripts ASSIGNMENT, every attempt's transcript as a zip."""
    from rapport.service.cohorts import results_csv, results_json, transcripts_zip
    from simulator.errors import RapportError
    from simulator.persona import PersonaLibrary

    teams, viewer, library = _teams(), _operator(), PersonaLibrary()
    if transcripts is not None:
        if output is None:
            raise RapportError("a zip needs a file: add -o FILE.zip")
        found = teams.assignment(transcripts, viewer, cohort=cohort)
        _, data = transcripts_zip(teams, found.id, viewer, library)
        output.write_bytes(data)
        err.print(f"wrote {output}", markup=False)
        return
    text = (results_csv(teams, cohort, viewer, library) if fmt is Format.csv
            else results_json(teams, cohort, viewer, library) + "\n")
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}", markup=False)


@app.command("assign")
def assign(
    cohort: str = typer.Argument(..., help="Cohort name or id."),
    persona: str = typer.Argument(..., help="Persona id (see `rapport personas list`)."),
    title: str | None = typer.Option(None, "--title", help="What learners see (default: the persona's name)."),
    difficulty: str = typer.Option("medium", "--difficulty", help="easy, medium or hard."),
    due: str | None = typer.Option(None, "--due", help="Due date, YYYY-MM-DD (the end of that day, UTC)."),
    attempts: int = typer.Option(3, "--attempts", min=1, max=20, help="How many attempts each learner has."),
    bar: str = typer.Option("", "--bar", help="Pass bar, e.g. 'empathy>=3.5, overall>=3'."),
    goal: bool = typer.Option(False, "--goal", help="Passing also needs the persona's goal reached."),
) -> None:
    """Assign practice to a cohort; prints the assignment's id."""
    from pydantic import ValidationError

    from rapport.service.cohorts import check_assignment, due_date
    from simulator.errors import RapportError
    from simulator.persona import PersonaLibrary
    from simulator.store import AssignmentSpec, PassBar

    library = PersonaLibrary()
    try:
        spec = AssignmentSpec(title=title or library.get(persona).name, persona_id=persona, difficulty=difficulty,
                              due_at=due_date(due), max_attempts=attempts, pass_bar=PassBar.parse(bar, goal=goal))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        raise RapportError(f"{'.'.join(map(str, error['loc']))}: {error['msg']}") from None
    made = _teams().assign(cohort, check_assignment(spec, library), _operator())
    err.print(f"assigned {made.title} to {made.cohort_name}: {made.persona_id} on {made.difficulty.value}, "
              f"{made.max_attempts} attempt(s), pass: {made.pass_bar.describe()}", markup=False)
    typer.echo(made.id)
