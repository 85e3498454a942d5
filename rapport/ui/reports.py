"""The reports tab: eval-suite runs (folders with report.json) and their self-contained HTML reports."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import gradio as gr

from simulator.settings import settings

from .chat_view import md_code
from .tabs import TabParts

# The report is a file on disk, written from persona and model text: whatever is in it, the frame may load
# nothing from anywhere (inline styles and data: images only).
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:"
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def runs_dir() -> Path:
    """Where `rapport eval` writes runs by default (RAPPORT_RUNS_DIR, else ./runs)."""
    return settings().runs_dir


def report_folders() -> list[Path]:
    root = runs_dir()
    if not root.is_dir():
        return []
    folders = [p for p in root.iterdir() if (p / "report.json").is_file()]
    return sorted(folders, key=lambda p: (p / "report.json").stat().st_mtime, reverse=True)


def report_view(folder: str | None) -> str:
    """The run's HTML report, shown in a sandboxed frame (its own styles, no scripts from outside)."""
    if not folder:
        return ""
    html_path = Path(folder) / "report.html"
    if not html_path.is_file():
        return f"<p>No report.html in {escape(folder)}.</p>"
    page = _locked_down(html_path.read_text(encoding="utf-8"))
    return (f'<iframe class="rapport-report" title="Eval report" sandbox="allow-same-origin" '
            f'style="width:100%;height:900px;border:1px solid #8884;border-radius:8px" srcdoc="{escape(page, quote=True)}">'
            "</iframe>")


def _locked_down(page: str) -> str:
    """The page with a Content-Security-Policy as the first thing in its head (a later one would come too late)."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{REPORT_CSP}">'
    head = _HEAD.search(page)
    if head:
        return page[: head.end()] + meta + page[head.end():]
    return f"<head>{meta}</head>{page}"


def reports_tab() -> TabParts:
    """The runs found on disk, listed again whenever the tab is selected."""
    gr.Markdown(f"Eval-suite runs found in {md_code(runs_dir())} (run `rapport eval SUITE --out runs/NAME`).")
    with gr.Row():
        picker = gr.Dropdown(label="Run", choices=[], elem_id="reports-picker", scale=4)
        refresh = gr.Button("Refresh", elem_id="reports-refresh", scale=1)
    view = gr.HTML(elem_id="reports-view")

    def listing():
        folders = report_folders()
        return gr.update(choices=[(f.name, str(f)) for f in folders], value=str(folders[0]) if folders else None)

    refresh.click(listing, None, picker)
    picker.change(report_view, picker, view)
    return TabParts(on_select=listing, select_outputs=[picker])
