"""Progress over sessions, and what to practise next: pure functions over stored summaries and scorecards.

A history is a list of (session summary, latest scorecard contract JSON) pairs, oldest first; an unscored
session carries an empty dict. `history_from_store` builds one from the session store.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from simulator.behaviours import Behaviour
from simulator.errors import RapportError
from simulator.persona.spec import Difficulty, PersonaSpec
from simulator.scores import OVERALL, card_scores
from simulator.store.sessions import SessionStore, SessionSummary

from .charts import criterion_label
from .rubric import CORE_CRITERIA, Rubric, offline_cues

History = list[tuple[SessionSummary, dict[str, Any]]]
WINDOW = 5
STEP_UP, STEP_DOWN = 3.5, 2.2  # recent overall mean at or above / at or below which difficulty changes
SHORTLIST = 0.75  # personas within this share of the best match count as equally good practice
LEVELS = (Difficulty.EASY, Difficulty.MEDIUM, Difficulty.HARD)


class Practised(BaseModel):
    """The behaviours a criterion is practised through: what builds it, and what a sensitive persona punishes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    builds: tuple[Behaviour, ...]
    breaks: tuple[Behaviour, ...] = ()


def __getattr__(name: str) -> Any:
    """`PRACTISED_BY`: the default rubric's core criteria as `Practised` (read from the rubric, not set here)."""
    if name == "PRACTISED_BY":
        return {criterion: practised_by(criterion) for criterion in CORE_CRITERIA}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Suggestion(BaseModel):
    """What to practise next, and a sentence saying why."""

    model_config = ConfigDict(extra="forbid")

    persona_id: str
    persona_name: str
    difficulty: Difficulty
    criterion: str | None = None
    reason: str


# -- reading scorecards -----------------------------------------------------------------------------------------


def _scored(history: History) -> list[tuple[SessionSummary, dict[str, float]]]:
    return [(summary, scores) for summary, card in history if (scores := card_scores(card))]


def order_criteria(keys: set[str]) -> list[str]:
    """Rubric order for the core criteria, then custom ones alphabetically, 'overall' last."""
    core = [k for k in CORE_CRITERIA if k in keys]
    return core + sorted(keys - set(CORE_CRITERIA) - {OVERALL}) + ([OVERALL] if OVERALL in keys else [])


def date_labels(dates: list[datetime]) -> list[str]:
    """'3 Mar' per session (with the year when the sessions span years); repeats on a day become '3 Mar #2'."""
    with_year = len({d.year for d in dates}) > 1
    labels, seen = [], {}
    for d in dates:
        base = f"{d.day} {d:%b}" + (f" {d.year}" if with_year else "")
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base} #{seen[base]}")
    return labels


def criterion_series(history: History) -> dict[str, list[tuple[str, float]]]:
    """Per criterion (and 'overall'), the (date label, score) of every scored session, oldest first."""
    scored = _scored(history)
    labels = date_labels([summary.started_at for summary, _ in scored])
    keys = order_criteria({k for _, scores in scored for k in scores})
    return {k: [(label, scores[k]) for label, (_, scores) in zip(labels, scored) if k in scores] for k in keys}


def _recent(history: History, window: int) -> list[tuple[SessionSummary, dict[str, float]]]:
    return _scored(history)[-window:] if window > 0 else []


def weakest_criterion(history: History, window: int = WINDOW) -> tuple[str, float] | None:
    """The criterion with the lowest mean over the last `window` scored sessions (ties: rubric order, then name)."""
    recent = _recent(history, window)
    keys = order_criteria({k for _, scores in recent for k in scores} - {OVERALL})
    if not keys:
        return None
    means = {k: statistics.fmean(s[k] for _, s in recent if k in s) for k in keys}
    best = min(keys, key=lambda k: (round(means[k], 9), keys.index(k)))  # keys are already in tie-break order
    return best, means[best]


def recent_overall(history: History, window: int = WINDOW) -> float | None:
    """The mean overall score over the last `window` scored sessions."""
    values = [s[OVERALL] for _, s in _recent(history, window) if OVERALL in s]
    return statistics.fmean(values) if values else None


# -- choosing a persona -----------------------------------------------------------------------------------------


def practised_by(criterion: str, rubric: Rubric | None = None) -> Practised:
    """The behaviours that exercise a criterion: its rubric `offline` block's positive and negative behaviours
    (a persona exercises it when its builds triggers weigh the first, or its breaks triggers the second).
    A core criterion not in `rubric` (or with no rubric) uses the default rubric's block; else none."""
    cues = offline_cues(criterion, rubric)
    if cues is None:
        return Practised(builds=())
    return Practised(builds=tuple(cues.positive), breaks=tuple(cues.negative))


def emphasis(persona: PersonaSpec, practised: Practised) -> float:
    """How much a persona's triggers weigh the behaviours that exercise a criterion (sum of trigger weights)."""
    builds = sum(t.weight for t in persona.triggers.builds if t.behaviour in practised.builds)
    breaks = sum(t.weight for t in persona.triggers.breaks if t.behaviour in practised.breaks)
    return builds + breaks


def _last_seen(history: History) -> dict[str, int]:
    """Per persona, the position in the history of its latest session (graded or not)."""
    return {summary.persona_id: i for i, (summary, _) in enumerate(history)}


def _pick(personas: list[PersonaSpec], practised: Practised, history: History) -> tuple[PersonaSpec, float]:
    """Among personas that weigh the criterion's behaviours nearly as much as the best, the one met least recently."""
    weights = {p.id: emphasis(p, practised) for p in personas}
    best = max(weights.values())
    shortlist = [p for p in personas if weights[p.id] >= SHORTLIST * best]
    seen = _last_seen(history)
    chosen = min(shortlist, key=lambda p: (seen.get(p.id, -1), -weights[p.id], p.id))
    return chosen, weights[chosen.id]


def _difficulty(persona: PersonaSpec, history: History, overall: float | None) -> tuple[Difficulty, str]:
    """Step up from the last difficulty with this persona when doing well, down when struggling, else keep."""
    last = next((s.difficulty for s, _ in reversed(history) if s.persona_id == persona.id), None)
    start = Difficulty(last) if last in {d.value for d in Difficulty} else Difficulty.MEDIUM
    level = LEVELS.index(start)
    since = f" from the {start.value} you played last time" if last else ""
    average = "" if overall is None else f"Your recent sessions average {overall:.1f} out of 5, so "
    if overall is not None and overall >= STEP_UP and level < len(LEVELS) - 1:
        return LEVELS[level + 1], f"{average}step up to {LEVELS[level + 1].value}{since}."
    if overall is not None and overall <= STEP_DOWN and level > 0:
        return LEVELS[level - 1], f"{average}ease off to {LEVELS[level - 1].value}{since} while the habit forms."
    again = " again" if last else ""
    return start, (f"{average}stay at {start.value}{again}." if average else f"Play it at {start.value}{again}.")


def _strongest_trigger(persona: PersonaSpec, practised: Practised) -> str | None:
    """The description of the persona's heaviest builds trigger on the criterion's behaviours, in its own words."""
    matching = [t for t in persona.triggers.builds if t.behaviour in practised.builds]
    return max(matching, key=lambda t: t.weight).description if matching else None


def easiest_start(personas: list[PersonaSpec]) -> PersonaSpec:
    """The most welcoming persona on easy: highest starting trust, then openness, then patience."""
    return max(personas, key=lambda p: (p.difficulty.easy.trust, p.difficulty.easy.openness,
                                        p.difficulty.easy.patience, -p.difficulty.easy.guardedness, p.id))


def suggest_next(history: History, personas: list[PersonaSpec], *, rubric: Rubric | None = None,
                 window: int = WINDOW) -> Suggestion:
    """Who to practise with next, at what difficulty, and on which criterion: the learner's weakest one."""
    if not personas:
        raise RapportError("no personas to suggest; add one with `rapport personas new`")
    weakest = weakest_criterion(history, window)
    if weakest is None:
        first = easiest_start(personas)
        ungraded = "None of your sessions has been graded yet" if history else "You have no practice sessions yet"
        return Suggestion(
            persona_id=first.id, persona_name=first.name, difficulty=Difficulty.EASY,
            reason=(f"{ungraded}, so start gently: {first.name} on easy begins as trusting as any persona here "
                    f"(trust {first.difficulty.easy.trust} out of 100), which leaves room to find your feet."))
    criterion, mean = weakest
    practised = practised_by(criterion, rubric)
    persona, weight = _pick(personas, practised, history)
    overall = recent_overall(history, window)
    difficulty, level_why = _difficulty(persona, history, overall)
    name = criterion_label(criterion).lower()
    n = len(_recent(history, window))
    over = "your last graded session" if n == 1 else f"your last {n} graded sessions"
    parts = [f"{criterion_label(criterion)} has been your weakest area ({mean:.1f} out of 5 over {over})."]
    trigger = _strongest_trigger(persona, practised)
    if weight and trigger:
        parts.append(f"{persona.name} is especially sensitive to {name} (what wins {persona.short_name} over: "
                     f"“{trigger.rstrip('.')}”).")
    elif weight:
        parts.append(f"{persona.name} reacts sharply when {name} is missing.")
    else:
        parts.append(f"No persona is especially sensitive to {name}, so try {persona.name}, whom you have not practised with for longest.")
    parts.append(level_why)
    return Suggestion(persona_id=persona.id, persona_name=persona.name, difficulty=difficulty, criterion=criterion,
                      reason=" ".join(parts))


def history_from_store(store: SessionStore, learner_id: str | None = None, limit: int = 200) -> History:
    """A learner's sessions with their latest scorecard (empty when unscored), oldest first."""
    summaries = sorted(store.list(learner_id=learner_id, limit=limit), key=lambda s: s.started_at)
    history: History = []
    for summary in summaries:
        cards = store.scorecards(summary.id, learner_id=summary.learner_id)
        history.append((summary, cards[-1] if cards else {}))
    return history
