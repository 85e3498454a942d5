"""`rapport ui`: serve the browser app."""

from __future__ import annotations

import typer

from .root import app


@app.command("ui")
def ui(
    host: str | None = typer.Option(None, help="Address to bind (default: GRADIO_SERVER_NAME or 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default: GRADIO_SERVER_PORT or 7860)."),
) -> None:
    """Start the browser app (the same as `python app.py`)."""
    from rapport.ui import launch

    launch(host=host, port=port)
