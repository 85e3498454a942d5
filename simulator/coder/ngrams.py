"""Word 1-2-gram TF-IDF of a response, computed exactly as scikit-learn's TfidfVectorizer.

Trained with `TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=TOKEN_PATTERN)`;
the training script checks this numpy re-implementation against scikit-learn's output.
Surface n-grams ("so sorry", "have you", "?") carry EPITOME and strategy cues that a single
mean-pooled sentence vector blurs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

TOKEN_PATTERN = r"[a-z0-9']+|[?!]"


class NgramTfidf:
    """Sparse-free TF-IDF encoder over a fixed vocabulary (rows are L2-normalised)."""

    def __init__(self, vocabulary: Sequence[str], idf: np.ndarray) -> None:
        self.vocabulary = list(vocabulary)
        self.index = {term: i for i, term in enumerate(self.vocabulary)}
        self.idf = np.asarray(idf, dtype=np.float32)
        self._token = re.compile(TOKEN_PATTERN)

    def __len__(self) -> int:
        return len(self.vocabulary)

    def terms(self, text: str) -> Counter[str]:
        """Unigram and bigram counts of `text`."""
        tokens = self._token.findall(text.lower())
        grams = tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]
        return Counter(grams)

    def row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, values) of the TF-IDF row of `text`."""
        columns, values = [], []
        for term, count in self.terms(text).items():
            column = self.index.get(term)
            if column is not None:
                columns.append(column)
                values.append((1.0 + math.log(count)) * float(self.idf[column]))
        vector = np.asarray(values, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm > 0:
            vector /= norm
        return np.asarray(columns, dtype=np.int64), vector

    def project(self, texts: Sequence[str], weights: np.ndarray) -> np.ndarray:
        """TF-IDF(texts) @ weights without building the (n, vocabulary) matrix."""
        out = np.zeros((len(texts), weights.shape[1]), dtype=np.float32)
        for i, text in enumerate(texts):
            columns, values = self.row(text)
            if len(columns):
                out[i] = values @ weights[columns]
        return out
