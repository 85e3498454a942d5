"""The phrase lists of the offline turn reader (data in `simulator/data/cues.yaml`), compiled once."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

CUES_FILE = Path(__file__).parent / "data" / "cues.yaml"


@cache
def cue_patterns() -> dict[str, re.Pattern[str]]:
    """One case-insensitive alternation per cue list."""
    from .data_files import read_yaml_file

    lists = read_yaml_file(CUES_FILE, round_trip=False)
    return {
        name: re.compile("|".join(f"(?:\\b{p})" for p in patterns), re.IGNORECASE) for name, patterns in lists.items()
    }


def find(cue: str, text: str) -> str | None:
    """The first phrase of list `cue` found in `text`, or None."""
    match = cue_patterns()[cue].search(text)
    return match.group(0) if match else None


STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves i'm you're it's that's don't can't i've
    you've we're they're there's isn't wasn't aren't really well yeah yes okay ok oh also get got go going know like
    think want see say said tell told feel felt thing things one lot bit much way something anything maybe sure right
    time make made let us""".split()
)
_WORD = re.compile(r"[a-z][a-z'\-]+")


def content_words(text: str) -> set[str]:
    """Lower-case words of 4+ letters that carry meaning (for overlap between turns)."""
    return {w.strip("'-") for w in _WORD.findall(text.lower()) if len(w) >= 4 and w not in STOPWORDS}
