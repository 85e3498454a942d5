"""The feature vector every head reads: how the response relates to its context.

x = [emb(response), emb(context) * emb(response), |emb(context) - emb(response)|,
     cosine(context, response), lexical features]
An empty context embeds as the zero vector, so the relation terms vanish and the
`has_context` lexical feature tells the heads why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .lexical import LEXICAL_FEATURE_NAMES, lexical_features

EMBEDDING_BLOCKS = ("response", "context_x_response", "abs_difference")


def feature_names(dim: int) -> list[str]:
    """Names of the columns of `pair_features` for an embedding of width `dim`."""
    names = [f"{block}[{i}]" for block in EMBEDDING_BLOCKS for i in range(dim)]
    return [*names, "cosine", *LEXICAL_FEATURE_NAMES]


def pair_features(
    context_vectors: np.ndarray,
    response_vectors: np.ndarray,
    pairs: Sequence[tuple[str, str]],
) -> np.ndarray:
    """Stack embedding-relation and lexical features for each (context, response) pair."""
    c = context_vectors.astype(np.float32, copy=False)
    r = response_vectors.astype(np.float32, copy=False)
    cosine = np.einsum("ij,ij->i", c, r)[:, None]
    lexical = (
        np.stack([lexical_features(ctx, resp) for ctx, resp in pairs])
        if pairs
        else np.zeros((0, len(LEXICAL_FEATURE_NAMES)), dtype=np.float32)
    )
    return np.hstack([r, c * r, np.abs(c - r), cosine, lexical]).astype(np.float32)
