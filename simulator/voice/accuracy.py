"""How well a listener heard: word errors against a reference text (the benchmark's WER and the tests use it)."""

from __future__ import annotations

import re


def words(text: str) -> list[str]:
    """`text` as the words compared: lower case, punctuation dropped, curly apostrophes straightened."""
    return re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("’", "'")).split()


def edit_distance(a: list[str], b: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions, deletions)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[len(b)]
