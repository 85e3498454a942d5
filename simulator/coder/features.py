"""The feature vector every head reads: how the response relates to its context.

x = [emb(response), emb(context) * emb(response), |emb(context) - emb(response)|,
     cosine(context, response), lexical features, relation features]
An empty context embeds as the zero vector, so the relation terms vanish and the
`has_context` lexical feature tells the heads why. Relation features (relation.py) say whether the
response carries the context's content and fits it better than it fits other people's turns (`bank`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .lexical import LEXICAL_FEATURE_NAMES, lexical_features
from .relation import RELATION_FEATURE_NAMES, bank_similarities, relation_features, specificity_terms

EMBEDDING_BLOCKS = ("response", "context_x_response", "abs_difference")


def feature_names(dim: int) -> list[str]:
    """Names of the columns of `pair_features` for an embedding of width `dim`."""
    names = [f"{block}[{i}]" for block in EMBEDDING_BLOCKS for i in range(dim)]
    return [*names, "cosine", *LEXICAL_FEATURE_NAMES, *RELATION_FEATURE_NAMES]


def specificity_inputs(
    context_vectors: np.ndarray, response_vectors: np.ndarray, pairs: Sequence[tuple[str, str]], bank: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(gap, rank) of each response against its own context and the bank of other contexts."""
    own = np.einsum("ij,ij->i", context_vectors, response_vectors).astype(np.float32)
    has_context = np.array([bool(c.strip()) for c, _ in pairs], dtype=bool)
    return specificity_terms(own, bank_similarities(response_vectors, bank), has_context)


def pair_features(
    context_vectors: np.ndarray,
    response_vectors: np.ndarray,
    pairs: Sequence[tuple[str, str]],
    bank: np.ndarray | None = None,
) -> np.ndarray:
    """Stack embedding-relation, lexical and relation features for each (context, response) pair."""
    c = context_vectors.astype(np.float32, copy=False)
    r = response_vectors.astype(np.float32, copy=False)
    cosine = np.einsum("ij,ij->i", c, r)[:, None]
    if not pairs:
        return np.zeros((0, 3 * c.shape[1] + 1 + len(LEXICAL_FEATURE_NAMES) + len(RELATION_FEATURE_NAMES)), np.float32)
    gap, rank = specificity_inputs(c, r, pairs, bank)
    lexical = np.stack([lexical_features(ctx, resp) for ctx, resp in pairs])
    relation = np.asarray(
        [relation_features(ctx, resp, float(g), float(k)) for (ctx, resp), g, k in zip(pairs, gap, rank)], np.float32
    )
    return np.hstack([r, c * r, np.abs(c - r), cosine, lexical, relation]).astype(np.float32)
