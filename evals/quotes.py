"""Evidence must be real: every quote is checked against the transcript, verbatim."""

from __future__ import annotations

import re

from simulator.transcript import Transcript

from .scorecard import Evidence

_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "…": "..."})


def _normal(text: str) -> str:
    """Only whitespace and typographic quotes are normalised; words must match exactly."""
    return _SPACE.sub(" ", text.translate(_QUOTES)).strip()


def verify_evidence(evidence: list[Evidence], transcript: Transcript) -> tuple[list[Evidence], list[str]]:
    """(the quotes found verbatim, with their turn corrected if needed; a message per dropped quote)."""
    kept: list[Evidence] = []
    dropped: list[str] = []
    texts = [_normal(t.text) for t in transcript.turns]
    for item in evidence:
        quote = _normal(item.quote.strip().strip('"').strip())
        if not quote:
            continue
        if 0 <= item.turn < len(texts) and quote in texts[item.turn]:
            kept.append(Evidence(turn=item.turn, quote=quote))
            continue
        elsewhere = next((i for i, text in enumerate(texts) if quote in text), None)
        if elsewhere is not None:
            kept.append(Evidence(turn=elsewhere, quote=quote))
        else:
            dropped.append(f"dropped a quote not found in the transcript (turn {item.turn}): {item.quote[:80]!r}")
    return kept, dropped
