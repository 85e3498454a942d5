"""Agreement on corpora a code was never trained on: the figures that say whether the coder transfers.

- Questions (rules, trained on nothing): DailyDialog's human "question" act, and TalkMoves' pressing for
  reasoning (open) vs pressing for accuracy (closed).
- Advice: DailyDialog's "directive" act, a coarse proxy (it also holds requests and instructions).
- Uptake (NCTE-trained): TalkMoves restating / revoicing (the teacher takes up the student's words) vs other moves.
- Reflection: the leave-one-corpus-out figures come from the training script (weights/metrics.json), since
  they need heads trained without the corpus; `reflection_corpora` in heldout.py measures the shipped heads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import datasets
from .agreement import accuracy, auroc, binary_f1
from .coder import BehaviourCoder
from .questions import classify_turn
from .splits import is_heldout

SAMPLE = 2000  # turns coded with the model per check (rules run on every row)


def _sample(items: list, n: int, seed: int) -> list:
    if len(items) <= n:
        return items
    chosen = np.random.default_rng(seed).choice(len(items), size=n, replace=False)
    return [items[i] for i in sorted(chosen)]


def questions_dailydialog(data_dir: Path) -> dict[str, Any]:
    """F1 of "asks a question" (open or closed) against DailyDialog's question act, every turn."""
    acts = datasets.read_dailydialog(data_dir)
    truth = [a.act == 2 for a in acts]
    predicted = [classify_turn(a.text) != "none" for a in acts]
    return {"n": len(acts), "question_f1": binary_f1(truth, predicted)}


def questions_talkmoves(data_dir: Path) -> dict[str, Any]:
    """Open vs closed on TalkMoves: pressing for reasoning should be open, pressing for accuracy closed."""
    moves = [m for m in datasets.read_talkmoves(data_dir) if m.code in (8, 9) and m.teacher.strip().endswith("?")]
    truth = [m.code == 9 for m in moves]
    kinds = [classify_turn(m.teacher) for m in moves]
    return {
        "n": len(moves),
        "open_vs_closed_accuracy": accuracy([int(t) for t in truth], [int(k == "open") for k in kinds]),
        "open_f1": binary_f1(truth, [k == "open" for k in kinds]),
        "closed_f1": binary_f1([not t for t in truth], [k == "closed" for k in kinds]),
    }


def advice_dailydialog(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """F1 of `advice` or `advice_with_permission` against DailyDialog's directive act (a coarse proxy)."""
    acts = _sample([a for a in datasets.read_dailydialog(data_dir) if a.previous], SAMPLE, seed=3)
    codes = coder.code_batch([(a.previous, a.text) for a in acts])
    truth = [a.act == 3 for a in acts]
    return {"n": len(acts), "directive_f1": binary_f1(truth, [c.advice or c.advice_with_permission for c in codes])}


def uptake_talkmoves(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """AUROC of `uptake` for restating / revoicing vs the other teacher moves (held-out transcripts)."""
    moves = [m for m in datasets.read_talkmoves(data_dir) if is_heldout("talkmoves", m.transcript_id)
             and m.code in (1, 2, 3, 4, 5, 8, 9) and m.student and m.teacher]
    moves = _sample(moves, SAMPLE, seed=5)
    codes = coder.code_batch([(m.student, m.teacher) for m in moves])
    return {"n": len(moves), "auroc_uptake_takes_up": auroc([c.uptake for c in codes], [m.code in (4, 5) for m in moves])}


def evaluate_transfer(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """Every cross-corpus check whose corpus is present, keyed by what it measures."""
    checks: dict[str, Any] = {}
    if datasets.available(data_dir, "dailydialog"):
        checks["questions_dailydialog"] = questions_dailydialog(data_dir)
        checks["advice_dailydialog"] = advice_dailydialog(coder, data_dir)
    if datasets.available(data_dir, "talkmoves"):
        checks["questions_talkmoves"] = questions_talkmoves(data_dir)
        checks["uptake_talkmoves"] = uptake_talkmoves(coder, data_dir)
    return checks
