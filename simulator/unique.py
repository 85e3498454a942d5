"""The one check every data file with ids needs: no id used twice, named in the error."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def require_unique_ids(ids: Iterable[str], what: str) -> None:
    """Raise ValueError naming every repeated id (validators turn it into `path:line: field: message`)."""
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ValueError(f"{what} ids must be unique; repeated: {', '.join(repeated)}")
