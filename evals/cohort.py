"""A cohort's results read for a trainer: latest and best scores per learner and criterion, distributions,
progress over time, each learner's standing on each assignment, who needs attention, and flat export rows.

Pure functions over `CohortResults` from the team store; scores are the ones that count (a trainer's override
wins over the machine's), and the machine's stay in the export beside them.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from simulator.store.teams import Assignment, Attempt, CohortResults

from .progress import OVERALL, date_labels, order_criteria
from .rubric import Rubric
from .scorecard import weighted_overall

FALL = 0.5  # a learner's overall dropping this much over their last three graded attempts is "falling"
RETRIES = 2  # below the bar after this many graded attempts needs attention


class Standing(StrEnum):
    """Where a learner stands on one assignment."""

    DUE = "due"  # nothing finished yet, and the due date (if any) is ahead
    OVERDUE = "overdue"  # nothing passed and the due date has gone
    DONE = "done"  # finished at least once, not passed yet, attempts left
    NOT_PASSED = "not passed"  # every attempt used, none passed
    PASSED = "passed"  # an attempt met the pass bar


class Cell(BaseModel):
    """One learner on one criterion: the latest graded attempt's score and the best, with the sessions."""

    model_config = ConfigDict(extra="forbid")

    latest: float
    best: float
    latest_session: str
    best_session: str
    graded: int  # graded attempts behind the cell


class LearnerStanding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner: str
    assignment_id: str
    standing: Standing
    used: int
    left: int
    passed_session: str | None = None


class Concern(BaseModel):
    """Someone who needs the trainer's attention, and why (with the session to open, when there is one)."""

    model_config = ConfigDict(extra="forbid")

    learner: str
    reason: str
    session_id: str | None = None


def counted(results: CohortResults, rubric_of: Callable[[str], Rubric]) -> CohortResults:
    """The results with every overridden attempt's overall counted (see `counted_attempt`)."""
    by_id = {a.id: a for a in results.assignments}
    attempts = [counted_attempt(a, rubric_of(by_id[a.assignment_id].persona_id)) for a in results.attempts]
    return results.model_copy(update={"attempts": attempts})


def counted_attempt(attempt: Attempt, rubric: Rubric) -> Attempt:
    """The attempt with its overall moved by the trainers' scores: the machine's overall plus how far the
    overrides move the rubric's weighted mean, so an override counts for an overall pass bar, the heatmap and the
    trend. The machine's overall stays in `machine`."""
    changed = {k for k in attempt.overridden if k != OVERALL}
    if not changed or OVERALL not in attempt.machine:
        return attempt
    before = {k: v for k, v in attempt.machine.items() if k != OVERALL}
    after = {k: v for k, v in attempt.scores.items() if k != OVERALL}
    overall = attempt.machine[OVERALL] + weighted_overall(after, rubric) - weighted_overall(before, rubric)
    return attempt.model_copy(update={"overridden": {**attempt.overridden, OVERALL: round(min(5.0, max(1.0, overall)), 2)}})


def verdict(assignment: Assignment, attempt: Attempt) -> str:
    """One sentence on an attempt against its assignment's bar, for the learner and the trainer."""
    if not attempt.graded:
        outcome = "not graded yet (it is graded when it ends)"
    else:
        outcome = "passed" if passed(assignment, attempt) else "not passed"
    line = f"Attempt at '{assignment.title}' ({assignment.cohort_name}); pass bar: {assignment.pass_bar.describe()}: {outcome}."
    if OVERALL in attempt.overridden and OVERALL in attempt.machine:
        line += (f" Overall with the trainer's scores {attempt.overridden[OVERALL]:.1f} "
                 f"(machine {attempt.machine[OVERALL]:.1f}).")
    return line


def passed(assignment: Assignment, attempt: Attempt) -> bool:
    return attempt.graded and assignment.pass_bar.passes(attempt.scores, attempt.end_reason)


def criteria(results: CohortResults) -> list[str]:
    """The criteria the cohort's attempts were graded on, in rubric order, 'overall' last."""
    return order_criteria({name for attempt in results.attempts for name in attempt.scores})


def heatmap(results: CohortResults, assignment_id: str | None = None) -> dict[str, dict[str, Cell]]:
    """Per learner (every learner of the cohort, in order), per criterion: latest and best, over graded attempts
    (of one assignment, or all)."""
    cells: dict[str, dict[str, Cell]] = {learner: {} for learner in results.cohort.learners}
    for attempt in results.attempts:  # oldest first, so the last one written is the latest
        if not attempt.graded or (assignment_id and attempt.assignment_id != assignment_id):
            continue
        row = cells.get(attempt.learner_id)
        if row is None:  # removed from the cohort since: their attempts stay in the export, not in the view
            continue
        for name, score in attempt.scores.items():
            old = row.get(name)
            better = old is None or score >= old.best
            row[name] = Cell(latest=score, latest_session=attempt.session_id,
                             best=score if better else old.best, best_session=attempt.session_id if better else old.best_session,
                             graded=(old.graded if old else 0) + 1)
    return cells


def distributions(cells: dict[str, dict[str, Cell]], names: list[str]) -> dict[str, list[float]]:
    """Per criterion, every learner's latest score (learners without one left out)."""
    return {name: [row[name].latest for row in cells.values() if name in row] for name in names}


def progress_series(results: CohortResults, assignment_id: str | None = None) -> dict[str, list[tuple[str, float]]]:
    """Per criterion, the cohort's mean score on each day graded attempts were started, oldest first."""
    graded = [a for a in results.attempts if a.graded and (not assignment_id or a.assignment_id == assignment_id)]
    days: dict[str, list[Attempt]] = {}
    for attempt in graded:
        days.setdefault(attempt.started_at.date().isoformat(), []).append(attempt)
    ordered = sorted(days)
    labels = date_labels([datetime.fromisoformat(day) for day in ordered])
    series: dict[str, list[tuple[str, float]]] = {}
    for name in criteria(results):
        for label, day in zip(labels, ordered):
            values = [a.scores[name] for a in days[day] if name in a.scores]
            if values:
                series.setdefault(name, []).append((label, round(statistics.fmean(values), 2)))
    return series


def _by_learner(results: CohortResults) -> dict[tuple[str, str], list[Attempt]]:
    """Attempts grouped by (assignment id, learner), oldest first: read once, not once per cell."""
    grouped: dict[tuple[str, str], list[Attempt]] = {}
    for attempt in results.attempts:
        grouped.setdefault((attempt.assignment_id, attempt.learner_id), []).append(attempt)
    return grouped


def standings(results: CohortResults, now: datetime) -> list[LearnerStanding]:
    """Every learner on every assignment of the cohort."""
    grouped = _by_learner(results)
    return [standing(assignment, grouped.get((assignment.id, learner), []), learner, now)
            for assignment in results.assignments for learner in results.cohort.learners]


def standing(assignment: Assignment, mine: list[Attempt], learner: str, now: datetime) -> LearnerStanding:
    """One learner's standing on one assignment, from their attempts at it."""
    winner = next((a for a in mine if passed(assignment, a)), None)
    if winner is not None:
        state = Standing.PASSED
    elif assignment.due_at is not None and now > assignment.due_at:
        state = Standing.OVERDUE
    elif len(mine) >= assignment.max_attempts and all(a.ended_at for a in mine):
        state = Standing.NOT_PASSED
    elif any(a.ended_at for a in mine):
        state = Standing.DONE
    else:
        state = Standing.DUE
    return LearnerStanding(learner=learner, assignment_id=assignment.id, standing=state, used=len(mine),
                           left=max(0, assignment.max_attempts - len(mine)),
                           passed_session=winner.session_id if winner else None)


def concerns(results: CohortResults, now: datetime) -> list[Concern]:
    """Who needs attention: a missed due date, still below the bar after two graded attempts, scores falling."""
    by_id = {a.id: a for a in results.assignments}
    grouped = _by_learner(results)
    found: list[Concern] = []
    for entry in standings(results, now):
        assignment = by_id[entry.assignment_id]
        mine = grouped.get((assignment.id, entry.learner), [])
        graded = [a for a in mine if a.graded]
        if entry.standing is Standing.OVERDUE:
            why = "not passed" if any(a.ended_at for a in mine) else "no attempt finished"
            found.append(Concern(learner=entry.learner, session_id=graded[-1].session_id if graded else None,
                                 reason=f"missed the due date of '{assignment.title}' ({assignment.due_at:%Y-%m-%d}): "
                                        f"{why}"))
        elif entry.standing is Standing.NOT_PASSED:
            found.append(Concern(learner=entry.learner, session_id=graded[-1].session_id if graded else None,
                                 reason=f"used all {assignment.max_attempts} attempt(s) at '{assignment.title}' without "
                                        f"passing ({assignment.pass_bar.describe()})"))
        elif entry.standing is not Standing.PASSED and len(graded) >= RETRIES:
            found.append(Concern(learner=entry.learner, session_id=graded[-1].session_id,
                                 reason=f"below the bar of '{assignment.title}' after {len(graded)} attempts "
                                        f"({assignment.pass_bar.describe()})"))
    for learner in results.cohort.learners:
        overall = [(a.scores[OVERALL], a.session_id) for a in results.attempts
                   if a.learner_id == learner and a.graded and OVERALL in a.scores][-3:]
        if len(overall) == 3 and overall[0][0] > overall[1][0] > overall[2][0] and overall[0][0] - overall[2][0] >= FALL:
            found.append(Concern(learner=learner, session_id=overall[-1][1],
                                 reason="scores falling: overall " + " → ".join(f"{s:.1f}" for s, _ in overall)))
    return found


# -- export ------------------------------------------------------------------------------------------------------


def export_rows(results: CohortResults) -> list[dict]:
    """One row per attempt: who, which assignment, how it ended, passed or not, and each criterion's score that
    counts beside the machine's (`empathy` and `empathy_machine`)."""
    by_id = {a.id: a for a in results.assignments}
    names = criteria(results)
    rows = []
    for attempt in results.attempts:
        assignment = by_id[attempt.assignment_id]
        row = {"cohort": results.cohort.name, "assignment": assignment.title, "assignment_id": assignment.id,
               "persona": assignment.persona_id, "difficulty": assignment.difficulty.value, "learner": attempt.learner_id,
               "session_id": attempt.session_id, "started_at": attempt.started_at.isoformat(),
               "ended_at": attempt.ended_at.isoformat() if attempt.ended_at else "",
               "end_reason": attempt.end_reason or "", "turns": attempt.turns,
               "passed": passed(assignment, attempt),
               "overridden": ",".join(sorted(k for k in attempt.overridden if k != OVERALL))}
        for name in names:
            row[name] = attempt.scores.get(name, "")
            row[f"{name}_machine"] = attempt.machine.get(name, "")
        rows.append(row)
    return rows


BASE_COLUMNS = ("cohort", "assignment", "assignment_id", "persona", "difficulty", "learner", "session_id", "started_at",
                "ended_at", "end_reason", "turns", "passed", "overridden")


def spreadsheet_safe(value):
    """A spreadsheet runs a cell that starts with = + - @ (or a tab or CR) as a formula: names and titles are data."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(results: CohortResults) -> str:
    """The export rows as CSV (just the header when nobody has attempted anything yet)."""
    rows = export_rows(results)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else list(BASE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return out.getvalue()


def export_json(results: CohortResults, now: datetime) -> dict:
    """The cohort, its assignments, each learner's standing, and every attempt (as in the CSV)."""
    return {
        "cohort": results.cohort.model_dump(mode="json"),
        "assignments": [a.model_dump(mode="json") for a in results.assignments],
        "standings": [s.model_dump(mode="json") for s in standings(results, now)],
        "attempts": export_rows(results),
        "needs_attention": [c.model_dump(mode="json") for c in concerns(results, now)],
    }


# -- how far the machine agrees with the cohort's own trainers ----------------------------------------------------

CLOSE = 0.5  # a machine score within this of the trainer's counts as agreeing


class Agreement(BaseModel):
    """Machine against trainer on the criteria trainers overrode (their overrides are the human labels)."""

    model_config = ConfigDict(extra="forbid")

    criterion: str
    n: int
    mean_absolute_difference: float
    bias: float  # mean of machine minus trainer: above 0, the machine scores higher than the trainers
    within_half_point: float  # share of overrides the machine was within CLOSE of
    spearman: float | None  # rank agreement, when there are 3 or more pairs and both sides vary


def override_agreement(overrides: list) -> list[Agreement]:
    """Per criterion and over all ('all'), from the overrides that stand (newest per session and criterion) and
    carry a machine score. Note the sample: trainers override mostly where they disagree, so this is a floor."""
    from simulator.coder.agreement import spearman

    pairs: dict[str, list[tuple[float, float]]] = {}
    for o in overrides:
        if o.machine_score is not None:
            pairs.setdefault(o.criterion, []).append((o.machine_score, o.score))
    if pairs:
        pairs["all"] = [pair for name in list(pairs) for pair in pairs[name]]
    out = []
    for name in [*order_criteria(set(pairs) - {"all"}), *(["all"] if pairs else [])]:
        machine, human = zip(*pairs[name])
        varied = len(pairs[name]) >= 3 and len(set(machine)) > 1 and len(set(human)) > 1
        rho = spearman(list(machine), list(human)) if varied else None
        out.append(Agreement(
            criterion=name, n=len(machine),
            mean_absolute_difference=round(statistics.fmean(abs(m - h) for m, h in pairs[name]), 3),
            bias=round(statistics.fmean(m - h for m, h in pairs[name]), 3),
            within_half_point=round(sum(abs(m - h) <= CLOSE for m, h in pairs[name]) / len(machine), 3),
            spearman=None if rho is None or rho != rho else round(float(rho), 3)))
    return out
