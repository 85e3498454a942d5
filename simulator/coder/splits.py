"""Deterministic train / held-out split shared by training and calibration.

An item is held out when sha256(f"{dataset}:{group}") falls in the first 20 of 100 buckets.
The group is the unit that must not straddle the split:
- EPITOME: the seeker post (`sp_id`); stricter than the (seeker, response) pair, so neither a
  pair nor its seeker text, which all three files share, leaks across.
- ESConv / FailedESConv: the conversation.
- PAIR: the client prompt (all eight responses to a prompt go the same way).
- NCTE uptake: the transcript (`obs_id`).
"""

from __future__ import annotations

import hashlib
from typing import Literal

HELDOUT_PERCENT = 20
Split = Literal["train", "heldout"]


def split_of(dataset: str, group: str) -> Split:
    """Which side of the split the group `group` of `dataset` falls on."""
    digest = hashlib.sha256(f"{dataset}:{group}".encode()).digest()
    bucket = int.from_bytes(digest[:8], "big") % 100
    return "heldout" if bucket < HELDOUT_PERCENT else "train"


def is_heldout(dataset: str, group: str) -> bool:
    """True when the group is in the held-out 20%."""
    return split_of(dataset, group) == "heldout"
