"""Benchmark results: one row per figure, merged into docs/benchmarks.json and rendered as a table."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

DOCS = Path(__file__).resolve().parents[1] / "docs"
JSON_PATH = DOCS / "benchmarks.json"
MD_PATH = DOCS / "benchmarks.md"
NOTES_PATH = Path(__file__).with_name("notes.md")  # hand-written: profiles and what changed, after the table


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores {platform.machine()} {cpu}".strip()


class Result(BaseModel):
    """One measured figure, what it is compared to, and whether it meets its goal."""

    model_config = ConfigDict(extra="forbid")

    id: str
    benchmark: str
    what: str
    figure: str
    value: float
    unit: str
    anchor: str = ""
    goal: str = ""
    met: bool | None = None
    machine: str = ""
    measured_at: str = ""


def result(benchmark: str, id: str, what: str, value: float, unit: str, figure: str | None = None,
           anchor: str = "", goal: str = "", met: bool | None = None) -> Result:
    return Result(id=id, benchmark=benchmark, what=what, value=value, unit=unit,
                  figure=figure or f"{value:,.2f} {unit}".strip(), anchor=anchor, goal=goal, met=met,
                  machine=machine(), measured_at=datetime.now(UTC).isoformat(timespec="seconds"))


def merge(new: list[Result]) -> list[Result]:
    """Replace the rows of the benchmarks that ran; keep the others from the last run."""
    old = []
    if JSON_PATH.exists():
        old = [Result.model_validate(r) for r in json.loads(JSON_PATH.read_text())["results"]]
    ran = {r.benchmark for r in new}
    return [r for r in old if r.benchmark not in ran] + new


def write(results: list[Result]) -> None:
    DOCS.mkdir(exist_ok=True)
    JSON_PATH.write_text(json.dumps({"results": [r.model_dump() for r in results]}, indent=2) + "\n")
    MD_PATH.write_text(render(results))


def render(results: list[Result]) -> str:
    lines = [
        "# Benchmarks",
        "",
        "Measured by `make bench` (`python -m bench`); raw numbers in `benchmarks.json`. Each row says what was",
        "measured, the figure, the anchor it is compared to, and the machine. Goals come from the issues; a ✗ is",
        "reported as measured, not hidden.",
        "",
        "| What | Figure | Anchor / goal | Met | Machine | Measured |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        anchor = "; ".join(filter(None, [r.anchor, f"goal: {r.goal}" if r.goal else ""]))
        met = "" if r.met is None else ("✓" if r.met else "✗")
        lines.append(f"| {r.what} | {r.figure} | {anchor} | {met} | {r.machine} | {r.measured_at[:10]} |")
    if NOTES_PATH.exists():
        lines += ["", NOTES_PATH.read_text().rstrip()]
    return "\n".join(lines) + "\n"
