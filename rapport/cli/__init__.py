"""The `rapport` command: every subcommand is a thin shell over `simulator` and `evals`."""

from __future__ import annotations

import sys

from .root import app, err


def main() -> None:
    """Entry point: a `RapportError` prints as one line (exit 1); `--debug` shows the traceback instead."""
    from simulator.errors import RapportError

    debug = "--debug" in sys.argv
    try:
        app(prog_name="rapport")
    except RapportError as exc:
        if debug:
            raise
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
