"""Agreement of a BehaviourCoder with human labels on the held-out 20% (see `splits`).

The training script writes these numbers to weights/metrics.json; a calibration command can call
`evaluate_heldout` again and must get the same items, since both use `splits.is_heldout`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import datasets
from .agreement import accuracy, auroc, binary_f1, macro_f1, spearman
from .coder import AFFIRMATION_LABEL, SUGGESTION_LABEL, BehaviourCoder
from .conversation import conversation_profile
from .splits import is_heldout

REFLECTION_VALUE = np.array([0.0, 0.5, 1.0])  # PAIR's suggested scores for LQ / MQ / HQ


def _epitome(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """Accuracy and macro-F1 per EPITOME mechanism."""
    items = [e for e in datasets.read_epitome(data_dir) if is_heldout("epitome", e.sp_id)]
    codes = coder.code_batch([(e.seeker, e.response) for e in items])
    result: dict[str, Any] = {"n": len(items)}
    for short, field in (("er", "emotional_reaction"), ("ip", "interpretation"), ("ex", "exploration")):
        truth = [getattr(e, short) for e in items]
        predicted = [getattr(c, field) for c in codes]
        result[short] = {
            "accuracy": accuracy(truth, predicted),
            "macro_f1": macro_f1(truth, predicted, [0, 1, 2]),
            "majority_baseline_accuracy": float(np.bincount(truth, minlength=3).max() / len(truth)),
        }
    return result


def _uptake(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """Spearman of predicted uptake with the raters' mean and z-scored uptake."""
    items = [u for u in datasets.read_uptake(data_dir) if is_heldout("uptake", u.obs_id)]
    predicted = [c.uptake for c in coder.code_batch([(u.student, u.teacher) for u in items])]
    return {
        "n": len(items),
        "spearman_uptake_mean": spearman(predicted, [u.uptake for u in items]),
        "spearman_uptake_zscore": spearman(predicted, [u.uptake_zscore for u in items]),
    }


def _pair(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """How often a better PAIR response outscores a worse one for the same prompt."""
    prompts = [p for p in datasets.read_pair(data_dir) if is_heldout("pair", p.prompt)]
    wins = {"hq_over_lq": [0.0, 0], "hq_over_mq": [0.0, 0], "mq_over_lq": [0.0, 0]}
    truth, predicted = [], []
    for prompt in prompts:
        responses = prompt.high + prompt.medium + prompt.low
        analysed = coder.analyse_batch([(prompt.prompt, r) for r in responses])
        scores = [float(np.dot(p.reflection, REFLECTION_VALUE)) for _, p in analysed]
        high, medium, low = scores[:2], scores[2:3], scores[3:]
        for key, better, worse in (
            ("hq_over_lq", high, low),
            ("hq_over_mq", high, medium),
            ("mq_over_lq", medium, low),
        ):
            for b in better:
                for w in worse:
                    wins[key][0] += 1.0 if b > w else 0.5 if b == w else 0.0
                    wins[key][1] += 1
        truth += ["complex"] * 2 + ["simple"] + ["none"] * 5
        predicted += [c.reflection for c, _ in analysed]
    labels = {"none": 0, "simple": 1, "complex": 2}
    t, p = [labels[x] for x in truth], [labels[x] for x in predicted]
    return {
        "n_prompts": len(prompts),
        **{key: won / total for key, (won, total) in wins.items()},
        "reflection_accuracy": accuracy(t, p),
        "reflection_macro_f1": macro_f1(t, p, [0, 1, 2]),
    }


def _esconv(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """Strategy-head agreement on held-out ESConv turns and ESConv-vs-FailedESConv AUROC."""
    good = [c for c in datasets.read_esconv(data_dir) if is_heldout("esconv", c.conversation_id)]
    failed = [c for c in datasets.read_failed_esconv(data_dir) if c.turns]
    turns = [t for c in good for t in c.turns]
    analysed = coder.analyse_batch([(t.context, t.response) for t in turns])
    labels = list(coder.heads["strategy"].labels)
    truth = [labels.index(t.strategy) for t in turns]
    predicted = [int(np.argmax([p.strategy[label] for label in labels])) for _, p in analysed]
    is_question = [t.strategy == "Question" for t in turns]
    asked = [c.question != "none" for c, _ in analysed]
    result: dict[str, Any] = {
        "n_turns": len(turns),
        "strategy_accuracy": accuracy(truth, predicted),
        "strategy_macro_f1": macro_f1(truth, predicted, list(range(len(labels)))),
        "suggestion_f1": binary_f1(
            [t.strategy == SUGGESTION_LABEL for t in turns],
            [p.suggestion >= coder.thresholds["suggestion"] for _, p in analysed],
        ),
        "affirmation_f1": binary_f1(
            [t.strategy == AFFIRMATION_LABEL for t in turns], [c.affirmation for c, _ in analysed]
        ),
        "question_rule_recall_on_question_turns": float(np.mean([a for a, q in zip(asked, is_question) if q])),
        "question_rule_rate_on_other_turns": float(np.mean([a for a, q in zip(asked, is_question) if not q])),
    }
    profiles, positive = [], []
    start = 0
    for conversation in good:
        codes = [c for c, _ in analysed[start : start + len(conversation.turns)]]
        start += len(conversation.turns)
        if codes:
            profiles.append(conversation_profile(codes))
            positive.append(True)
    failed_turns = [(t.context, t.response) for c in failed for t in c.turns]
    failed_codes = coder.code_batch(failed_turns)
    start = 0
    for conversation in failed:
        profiles.append(conversation_profile(failed_codes[start : start + len(conversation.turns)]))
        start += len(conversation.turns)
        positive.append(False)
    result["conversations"] = {"esconv_heldout": sum(positive), "failed": len(positive) - sum(positive)}
    # Primary: mean turn empathy (conversation_empathy). The rest are reported for context.
    result["auroc_vs_failed"] = {key: auroc([p[key] for p in profiles], positive) for key in profiles[0]}
    return result


def reflection_corpora(coder: BehaviourCoder, data_dir: Path, only: str | None = None) -> dict[str, Any]:
    """Reflection (simple or complex) vs none: F1, precision, recall per corpus on its held-out rows."""
    from .reflection_data import reflection_sources

    result: dict[str, Any] = {}
    for corpus, rows in reflection_sources(data_dir, "heldout").items():
        if only is not None and corpus != only:
            continue
        codes = coder.code_batch([(c, r) for c, r, _, _ in rows])
        truth = [label > 0 for _, _, label, _ in rows]
        predicted = [c.reflection != "none" for c in codes]
        tp = sum(t and p for t, p in zip(truth, predicted))
        result[corpus] = {
            "n": len(rows),
            "f1": binary_f1(truth, predicted),
            "precision": tp / max(sum(predicted), 1),
            "recall": tp / max(sum(truth), 1),
            "accuracy_3way": accuracy([label for _, _, label, _ in rows],
                                      [("none", "simple", "complex").index(c.reflection) for c in codes]),
        }
    return result


def evaluate_heldout(coder: BehaviourCoder, data_dir: Path) -> dict[str, Any]:
    """All held-out agreement numbers for `coder`, keyed by dataset."""
    return {
        "epitome": _epitome(coder, data_dir),
        "uptake_ncte": _uptake(coder, data_dir),
        "pair": _pair(coder, data_dir),
        "esconv": _esconv(coder, data_dir),
        "reflection_by_corpus": reflection_corpora(coder, data_dir),
    }
