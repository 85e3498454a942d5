"""The `rapport` command: every subcommand is a thin shell over `simulator` and `evals`."""

from __future__ import annotations

import sys

from .root import app, err


def main() -> None:
    """Entry point: a `RapportError` prints as one line per problem; `--debug` shows the traceback instead.

    Exit 2 means an input file was refused (bad or hostile data), 1 any other error the user can act on.
    """
    from simulator.errors import DataFileError, RapportError

    debug = "--debug" in sys.argv
    try:
        app(prog_name="rapport")
    except RapportError as exc:
        if debug:
            raise
        for line in str(exc).splitlines() or [type(exc).__name__]:
            err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2 if isinstance(exc, DataFileError) else 1)
    except RecursionError:  # a last line of defence: every reader bounds nesting before it recurses
        if debug:
            raise
        err.print("error: input nested too deeply to read", markup=False, highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


__all__ = ["app", "main"]
