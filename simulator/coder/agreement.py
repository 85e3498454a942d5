"""Agreement statistics in plain numpy (accuracy, macro-F1, Spearman, AUROC)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def accuracy(truth: Sequence[int], predicted: Sequence[int]) -> float:
    """Share of items where the prediction equals the label."""
    t, p = np.asarray(truth), np.asarray(predicted)
    return float((t == p).mean()) if len(t) else float("nan")


def macro_f1(truth: Sequence[int], predicted: Sequence[int], labels: Sequence[int]) -> float:
    """Unweighted mean of per-class F1 over `labels` (a class never predicted nor present scores 0)."""
    t, p = np.asarray(truth), np.asarray(predicted)
    scores = []
    for label in labels:
        tp = float(((t == label) & (p == label)).sum())
        fp = float(((t != label) & (p == label)).sum())
        fn = float(((t == label) & (p != label)).sum())
        scores.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0)
    return float(np.mean(scores))


def binary_f1(truth: Sequence[bool], predicted: Sequence[bool]) -> float:
    """F1 of the positive class."""
    return macro_f1(np.asarray(truth, dtype=int), np.asarray(predicted, dtype=int), [1])


def average_ranks(values: Sequence[float]) -> np.ndarray:
    """1-based ranks, ties sharing their mean rank."""
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sorted_x = x[order]
    start = 0
    while start < len(x):
        end = start
        while end + 1 < len(x) and sorted_x[end + 1] == sorted_x[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2.0 + 1.0
        start = end + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson on tie-averaged ranks)."""
    ra, rb = average_ranks(a), average_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = np.sqrt((ra**2).sum() * (rb**2).sum())
    return float((ra * rb).sum() / denominator) if denominator else float("nan")


def auroc(scores: Sequence[float], positive: Sequence[bool]) -> float:
    """Area under the ROC curve: P(score of a positive > score of a negative), ties count 1/2."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return float("nan")
    ranks = average_ranks(s)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
