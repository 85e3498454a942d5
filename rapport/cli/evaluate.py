"""`rapport judge` and `rapport code`: grade transcripts and code learner turns (exact JSON contracts)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import typer
from pydantic import BaseModel, ConfigDict, ValidationError

from simulator.errors import RapportError

from .root import app, err


@app.command("judge")
def judge(
    transcripts: list[Path] = typer.Argument(..., help="Transcript JSON files."),
    offline: bool = typer.Option(False, "--offline", help="Grade with the offline coder only (no LLM: the rules "
                                 "write the rewrites, not the local model)."),
    samples: int = typer.Option(1, "--samples", min=1, max=20, help="Run the judge N times; report mean and spread."),
    rubric: str | None = typer.Option(None, help="Rubric id or file (default: the persona's, else 'default')."),
    model: str | None = typer.Option(None, help="Judge model, e.g. openai:gpt-4o (default: RAPPORT_JUDGE_MODEL)."),
) -> None:
    """Print one JSON scorecard per transcript, one per line, in the order given."""
    from evals.grading import Grader
    from evals.model_rewrites import default_rewriter
    from evals.transcripts import read_transcript

    from simulator.errors import DataFileError

    # With no judge, the configured persona model writes the rewrites when it is a local instruction-tuned one
    # (built only when a turn needs one); --offline promises no LLM at all.
    grader = Grader(offline_only=offline, judge_spec=model, rubric=rubric, samples=samples,
                    rewriter=None if offline else default_rewriter())
    failed = 0  # the exit code: 2 when a file was refused, 1 when grading failed otherwise

    async def run() -> None:
        nonlocal failed
        for path in transcripts:
            try:
                graded = await grader.grade(read_transcript(path))
                line = {"file": str(path), **graded.scorecard.contract()}
            except RapportError as exc:
                failed = max(failed, 2 if isinstance(exc, DataFileError) else 1)
                err.print(f"error: {exc}", markup=False)
                line = {"file": str(path), "error": str(exc)}
            typer.echo(json.dumps(line, ensure_ascii=False))

    asyncio.run(run())
    if failed:
        raise typer.Exit(failed)


class CodeInput(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    context: str
    response: str


@app.command("code")
def code(
    input_path: Path = typer.Option(..., "--in", help="JSON Lines: {id, context, response} per line."),
    output_path: Path = typer.Option(..., "--out", help="Where to write each input line plus its codes."),
    batch_size: int = typer.Option(256, help="Turns embedded per batch."),
) -> None:
    """Label learner turns offline: empathy mechanisms, reflections, questions, affirmations, advice, uptake."""
    from simulator.coder import load_coder

    rows = _read_code_input(input_path)
    coder = load_coder()
    with output_path.open("w", encoding="utf-8") as out:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            codes = coder.code_batch([(r.context, r.response) for r in batch])
            for row, turn_codes in zip(batch, codes):
                out.write(json.dumps({**row.model_dump(), "codes": turn_codes.model_dump()}, ensure_ascii=False) + "\n")
    err.print(f"coded {len(rows)} turn(s) into {output_path}")


def _read_code_input(path: Path) -> list[CodeInput]:
    from simulator.errors import DataFileError, Problem

    rows, problems = [], []
    from simulator.data_files import read_text

    lines = read_text(path, 64 * 1024 * 1024).splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rows.append(CodeInput.model_validate_json(line))
        except ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in error["loc"]) or "<json>"
            problems.append(Problem(str(path), number, field, error["msg"]))
    if problems:
        raise DataFileError(problems)
    return rows


def _default_data_dir() -> Path:
    """`../shared/datasets` next to the working directory, else next to the repository."""
    repo = Path(__file__).resolve().parents[2]
    for candidate in (Path.cwd() / ".." / "shared" / "datasets", repo / ".." / "shared" / "datasets"):
        if candidate.is_dir():
            return candidate.resolve()
    return (Path.cwd() / ".." / "shared" / "datasets").resolve()


@app.command("calibrate")
def calibrate(
    data: Path | None = typer.Option(None, "--data", help="Human-annotated corpora (default: ../shared/datasets)."),
    out: Path = typer.Option(Path("docs"), "--out", help="Where to write calibration.md and calibration.json."),
    judge_sample: int | None = typer.Option(
        None, "--judge-sample", min=0, help="Judge items to measure (default: 20 when a judge model is configured, else 0)."
    ),
    overrides: bool = typer.Option(
        False, "--overrides", help="Instead: agreement with your trainers' overrides (the cohort's own human labels)."
    ),
    cohort: str | None = typer.Option(None, "--cohort", help="With --overrides: one cohort's (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="With --overrides: print JSON."),
) -> None:
    """Measure agreement with human labels on held-out data; print it and write docs/calibration.{md,json}."""
    from simulator.errors import RapportError as Error

    if overrides:
        _override_agreement(cohort, as_json)
        return
    if cohort is not None:
        raise Error("--cohort goes with --overrides")

    from evals.calibration import calibration_markdown, run_calibration, write_calibration

    data_dir = data or _default_data_dir()
    if not data_dir.is_dir():
        raise Error(f"no datasets at {data_dir}; pass --data DIR (the folder with epitome_reddit/, esconv/, ...)")
    if judge_sample is None:
        from simulator.config import Role, resolve_model_spec

        judge_sample = 20 if resolve_model_spec(Role.JUDGE) is not None else 0
    report = run_calibration(data_dir, judge_sample, progress=lambda m: err.print(f"[dim]{m}[/]"))
    json_path, md_path = write_calibration(report, out)
    typer.echo(calibration_markdown(report))
    err.print(f"wrote {md_path} and {json_path}")


def _override_agreement(cohort: str | None, as_json: bool) -> None:
    """How far the evaluator agrees with the trainers who overrode its scores, per criterion."""
    from evals.cohort import override_agreement
    from rapport.service import default_learner
    from simulator.roles import UserRole
    from simulator.store import TeamStore, Viewer

    standing = TeamStore().overrides(Viewer(name=default_learner(), role=UserRole.ADMIN), cohort=cohort, latest=True)
    report = override_agreement(standing)
    if as_json:
        typer.echo(json.dumps([row.model_dump() for row in report], indent=2))
        return
    if not report:
        err.print("No overrides yet: trainers override a criterion's score in the Trainer tab's review.", markup=False)
        return
    typer.echo("criterion\tn\tmean |machine-trainer|\tbias (machine-trainer)\twithin 0.5\tspearman")
    for row in report:
        rho = "-" if row.spearman is None else f"{row.spearman:.2f}"
        typer.echo(f"{row.criterion}\t{row.n}\t{row.mean_absolute_difference:.2f}\t{row.bias:+.2f}\t"
                   f"{row.within_half_point:.0%}\t{rho}")
    err.print("Trainers override mostly where they disagree, so this is a floor on agreement, not an estimate of it.",
              markup=False)
