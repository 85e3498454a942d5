"""`rapport eval`: run eval suites from the command line or CI; exit 0 pass, 1 failures, 2 configuration error."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from simulator.config import Role
from simulator.errors import DataFileError, RapportError
from simulator.model_reading import READERS

from .root import app, err, out


def _overrides(values: list[str]) -> dict[str, str]:
    overrides = {}
    for value in values:
        role, sep, spec = value.partition("=")
        if not sep or role not in {r.value for r in Role} or not spec:
            raise typer.BadParameter(f"'{value}': use ROLE=SPEC with ROLE persona, judge or learner", param_hint="--model-role")
        overrides[role] = spec
    return overrides


@app.command("eval")
def eval_suites(
    suites: list[Path] = typer.Argument(..., help="Suite YAML files."),
    model_role: list[str] = typer.Option([], "--model-role", help="ROLE=SPEC, e.g. judge=openai:gpt-4o, or judge=none (repeatable)."),
    concurrency: int = typer.Option(4, "--concurrency", min=1, max=256, help="Cases running at once."),
    repeat: int | None = typer.Option(None, "--repeat", min=1, max=100, help="Run every case K times."),
    out_dir: Path | None = typer.Option(None, "--out", help="Where to write the report (default runs/<time>)."),
    compare: Path | None = typer.Option(None, "--compare", help="An earlier run's folder to compare against."),
    reader: str | None = typer.Option(
        None, "--reader", help="How turns are read live: coder (default), rules (fastest) or judge (the judge model too)."
    ),
) -> None:
    """Run eval suites; write report.json, report.md and report.html."""
    from evals.suite.compare import compare_markdown, compare_reports
    from evals.suite.report import SuiteReport
    from evals.suite.report_files import write_report
    from evals.suite.runner import SuiteRunner, load_suites
    from simulator.persona import PersonaLibrary

    try:
        overrides = _overrides(model_role)
        library = PersonaLibrary()
        loaded = load_suites(suites, library)
        previous = SuiteReport.load_json(compare / "report.json") if compare else None
        if reader is not None and reader not in READERS:
            raise typer.BadParameter("use coder, rules or judge", param_hint="--reader")
        runner = SuiteRunner(loaded, library=library, overrides=overrides, concurrency=concurrency, repeat=repeat,
                             reader=reader)
        jobs = len(runner.jobs())
    except (DataFileError, RapportError, typer.BadParameter, OSError, ValueError) as exc:
        for line in str(exc).splitlines():
            err.print(f"error: {line}", markup=False)
        raise typer.Exit(2) from None
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=False) as progress:
        task = progress.add_task("cases", total=jobs)

        def done(run) -> None:
            mark = "[red]✗[/]" if not run.passed else "[green]✓[/]"
            progress.console.print(f"{mark} {run.case}#{run.repeat}" + (f" [red]{run.error}[/]" if run.error else ""),
                                   markup=True, highlight=False)
            progress.advance(task)

        report = asyncio.run(runner.run(done))
    if previous is not None:
        report.compare = compare_reports(previous, report)
        report.compared_to = str(compare)
    folder = out_dir or Path("runs") / datetime.now().strftime("%Y%m%d-%H%M%S")
    paths = write_report(report, folder)
    counts = report.counts()
    out.print(f"{counts['runs_passed']}/{counts['runs']} runs passed; expectations: {counts['passed']} passed, "
              f"{counts['failed']} failed, {counts['skipped']} skipped; {counts['errors']} error(s)", markup=False)
    for verdict in report.failures:
        where = f"{verdict.case}#{verdict.repeat}" if verdict.case else "suite"
        turn = f" (turn {verdict.turn})" if verdict.turn is not None else ""
        out.print(f"FAILED {where}: {verdict.expectation}{turn}: {verdict.detail}", markup=False, soft_wrap=True)
    for run in report.errors:
        out.print(f"ERROR {run.case}#{run.repeat}: {run.error}", markup=False, soft_wrap=True)
    if report.compare is not None:
        out.print(compare_markdown(report.compare), markup=False)
    err.print(f"report: {paths['html']}")
    raise typer.Exit(0 if report.passed else 1)
