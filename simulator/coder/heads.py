"""Linear heads in numpy: softmax classifiers and a clipped linear regressor.

Each head is trained with scikit-learn (scripts/train_coder.py) and stored as plain arrays;
run time needs numpy only. Feature standardisation is folded into the weights at export, and
heads that read response n-grams carry a second weight block for the TF-IDF columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class LinearHead:
    """scores = x @ weights + tfidf @ ngram_weights + bias, then softmax or clip."""

    name: str
    kind: str  # "softmax" or "linear"
    labels: tuple[str, ...]
    weights: np.ndarray  # (n_features, n_outputs)
    bias: np.ndarray  # (n_outputs,)
    ngram_weights: np.ndarray | None = None  # (vocabulary, n_outputs)
    low: float = 0.0
    high: float = 1.0

    def finish(self, scores: np.ndarray) -> np.ndarray:
        """Turn raw scores into probabilities (n, k) or clipped values (n,)."""
        if self.kind == "linear":
            return np.clip(scores[:, 0], self.low, self.high)
        scores = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)

    def __call__(self, features: np.ndarray, ngram_scores: np.ndarray | None = None) -> np.ndarray:
        """Apply the head; `ngram_scores` is TF-IDF @ ngram_weights, precomputed by the caller."""
        scores = features @ self.weights + self.bias
        if ngram_scores is not None:
            scores = scores + ngram_scores
        return self.finish(scores)


def save_heads(path: Path, heads: list[LinearHead], arrays: dict[str, np.ndarray], manifest: dict) -> None:
    """Write heads, extra arrays and a JSON manifest into one .npz (no pickles)."""
    stored = {name: np.asarray(value) for name, value in arrays.items()}
    entries = []
    for head in heads:
        stored[f"{head.name}.weights"] = head.weights.astype(np.float32)
        stored[f"{head.name}.bias"] = head.bias.astype(np.float32)
        if head.ngram_weights is not None:
            stored[f"{head.name}.ngram_weights"] = head.ngram_weights.astype(np.float16)
        entries.append(
            {
                "name": head.name,
                "kind": head.kind,
                "labels": list(head.labels),
                "low": head.low,
                "high": head.high,
                "ngrams": head.ngram_weights is not None,
            }
        )
    stored["manifest"] = np.array(json.dumps({**manifest, "heads": entries}))
    np.savez_compressed(path, **stored)


def load_heads(path: Path) -> tuple[dict[str, LinearHead], dict[str, np.ndarray], dict]:
    """Read a file written by `save_heads`: (heads by name, other arrays, manifest)."""
    with np.load(path, allow_pickle=False) as archive:
        manifest = json.loads(str(archive["manifest"]))
        heads = {}
        used = {"manifest"}
        for entry in manifest["heads"]:
            name = entry["name"]
            ngram_key = f"{name}.ngram_weights"
            heads[name] = LinearHead(
                name=name,
                kind=entry["kind"],
                labels=tuple(entry["labels"]),
                weights=archive[f"{name}.weights"],
                bias=archive[f"{name}.bias"],
                ngram_weights=archive[ngram_key].astype(np.float32) if entry["ngrams"] else None,
                low=entry["low"],
                high=entry["high"],
            )
            used |= {f"{name}.weights", f"{name}.bias", ngram_key}
        arrays = {key: archive[key] for key in archive.files if key not in used}
    return heads, arrays, manifest
