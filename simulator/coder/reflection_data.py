"""Reflection labels from three corpora (PAIR, ESConv, TalkMoves), on either side of the split.

Shared by the training script and the held-out / leave-one-corpus-out measurements, so both read the
same rows with the same label mapping.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import datasets
from .splits import is_heldout

NON_REFLECTION_STRATEGIES = {"Question", "Information", "Self-disclosure", "Others", "Providing Suggestions"}
# ESConv strategies are self-labels: an "Others" turn saying "it sounds like you feel..." is a reflection.
REFLECTIVE_WORDING = re.compile(
    r"\b(?:sounds? like|seems? like|it seems|you feel|you're feeling|you are feeling)\b", re.IGNORECASE
)
# PAIR's reflections almost all open with "You ..."; MI's usual stems are added as extra copies (training side
# only) so the head does not learn that a reflection must start with "You".
REFLECTION_STEMS = ("It sounds like ", "It seems like ", "So ", "I'm hearing that ")
CORPORA = ("pair", "esconv", "talkmoves")
Row = tuple[str, str, int, str]  # context, response, 0 none / 1 simple / 2 complex, group


def _stem_variant(response: str, n: int) -> str:
    return REFLECTION_STEMS[n % len(REFLECTION_STEMS)] + response[0].lower() + response[1:]


def reflection_sources(data_dir: Path, split: str = "train") -> dict[str, list[Row]]:
    """(context, response, label 0/1/2, group) per corpus, on one side of the split.

    PAIR: HQ=complex, MQ=simple, LQ=none. ESConv: "Reflection of feelings"=complex, "Restatement or
    Paraphrasing"=simple, a sample of non-reflective strategies=none. TalkMoves: revoicing=complex,
    restating=simple, a sample of the other teacher moves=none.
    """
    want_heldout = split == "heldout"
    rng = np.random.default_rng(0)
    out: dict[str, list[Row]] = {"pair": [], "esconv": [], "talkmoves": []}
    stems = 0
    for prompt in datasets.read_pair(data_dir):
        if is_heldout("pair", prompt.prompt) != want_heldout:
            continue
        for label, responses in ((2, prompt.high), (1, prompt.medium), (0, prompt.low)):
            for response in responses:
                out["pair"].append((prompt.prompt, response, label, f"pair:{prompt.prompt}"))
                if label > 0 and re.match(r"you\b", response, re.IGNORECASE) and not want_heldout:
                    out["pair"].append((prompt.prompt, _stem_variant(response, stems), label, f"pair:{prompt.prompt}"))
                    stems += 1
    negatives = []
    for cid, turn in datasets.iter_support_turns(datasets.read_esconv(data_dir)):
        if is_heldout("esconv", cid) != want_heldout or not turn.context:
            continue
        if turn.strategy == "Reflection of feelings":
            out["esconv"].append((turn.context, turn.response, 2, f"esconv:{cid}"))
        elif turn.strategy == "Restatement or Paraphrasing":
            out["esconv"].append((turn.context, turn.response, 1, f"esconv:{cid}"))
        elif turn.strategy in NON_REFLECTION_STRATEGIES | {"Affirmation and Reassurance"}:
            if not want_heldout and REFLECTIVE_WORDING.search(turn.response):
                continue  # label noise in training; the held-out side keeps every turn as labelled
            negatives.append((turn.context, turn.response, 0, f"esconv:{cid}"))
    n_positive = len(out["esconv"])
    keep = rng.choice(len(negatives), size=min(len(negatives), int(1.5 * n_positive)), replace=False)
    out["esconv"] += [negatives[i] for i in sorted(keep)]
    positives, others = [], []
    for move in datasets.read_talkmoves(data_dir) if datasets.available(data_dir, "talkmoves") else []:
        if is_heldout("talkmoves", move.transcript_id) != want_heldout or not move.student or not move.teacher:
            continue
        if move.code in (4, 5):
            positives.append((move.student, move.teacher, 1 if move.code == 4 else 2, f"talkmoves:{move.transcript_id}"))
        elif move.code in (1, 2, 3, 8, 9):
            others.append((move.student, move.teacher, 0, f"talkmoves:{move.transcript_id}"))
    keep = rng.choice(len(others), size=min(len(others), len(positives)), replace=False)
    out["talkmoves"] = positives + [others[i] for i in sorted(keep)]
    return {name: rows for name, rows in out.items() if rows}
