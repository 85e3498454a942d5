"""Run benchmarks: `python -m bench` runs all; `python -m bench coder scorecard` runs some."""

from __future__ import annotations

import argparse
import importlib
import sys

from .results import merge, render, write

BENCHMARKS = ["engine", "coder", "scorecard", "embedded", "retrieval", "throughput", "load"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Measure Rapport and write docs/benchmarks.{md,json}.")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    results = []
    for name in args.names or BENCHMARKS:
        print(f"== {name}", file=sys.stderr, flush=True)
        results.extend(importlib.import_module(f"bench.{name}").run())
    merged = merge(results)
    write(merged)
    print(render(merged))


if __name__ == "__main__":
    main()
