"""Write a suite report to a directory: report.json (the record), report.md (for CI logs), report.html (for people)."""

from __future__ import annotations

from pathlib import Path

from .render_html import render_html
from .render_markdown import render_markdown
from .report import SuiteReport


def write_report(report: SuiteReport, out_dir: Path) -> dict[str, Path]:
    """Write the three files (UTF-8), creating `out_dir`; returns their paths by kind: json, markdown, html."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "markdown": out_dir / "report.md", "html": out_dir / "report.html"}
    report.save_json(paths["json"])
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    paths["html"].write_text(render_html(report), encoding="utf-8")
    return paths
