"""Run benchmarks: `python -m bench` runs all; `python -m bench coder scorecard` runs some."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .results import Result, merge, render, write

BENCHMARKS = ["engine", "coder", "scorecard", "embedded", "persona", "retrieval", "throughput", "load", "scale_out", "voice"]


def run_isolated(name: str) -> list[Result]:
    """One benchmark in a fresh interpreter, so none inherits another's warm caches, threads or models."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, "-m", "bench", "--one", name, "--json", out.name], check=True)
        return [Result.model_validate(r) for r in json.loads(Path(out.name).read_text())]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure Rapport and write docs/benchmarks.{md,json}.")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # run one benchmark here and write its rows to --json
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        rows = importlib.import_module(f"bench.{args.one}").run()
        Path(args.json).write_text(json.dumps([r.model_dump() for r in rows]))
        return
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    results = []
    for name in args.names or BENCHMARKS:
        print(f"== {name}", file=sys.stderr, flush=True)
        results.extend(run_isolated(name))
    merged = merge(results)
    write(merged)
    print(render(merged))


if __name__ == "__main__":
    main()
