"""What the CLI and the Trainer tab both do with a cohort: read its results with the trainers' overrides counted,
check an assignment against its persona, and export results (CSV, JSON) and an assignment's transcripts (zip)."""

from __future__ import annotations

import csv
import functools
import io
import json
import re
import zipfile
from datetime import UTC, date, datetime, time

from evals.cohort import counted, counted_attempt, export_csv, export_json, passed, spreadsheet_safe, verdict
from evals.rubric import Rubric, load_rubric
from simulator.errors import RapportError
from simulator.persona import PersonaLibrary
from simulator.store import AssignmentSpec, CohortResults, TeamStore, Viewer
from simulator.transcript import Speaker


def due_date(text: str | None) -> datetime | None:
    """'2027-03-15' as the end of that day, UTC (what a trainer means by "due on the 15th"); empty: no date."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if not re.fullmatch(r"(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        return datetime.combine(date.fromisoformat(text), time(23, 59, 59), tzinfo=UTC)
    except ValueError:
        raise RapportError(f"due date {text[:40]!r}: write it as YYYY-MM-DD, between 2000 and 2100") from None


def rubric_for(library: PersonaLibrary, persona_id: str) -> Rubric:
    """The rubric a persona's conversations are graded by."""
    try:
        return load_rubric(library.get(persona_id).rubric or "default")
    except RapportError:  # a persona deleted since it was assigned: the default rubric's weights
        return load_rubric("default")


def cohort_results(teams: TeamStore, cohort: str, viewer: Viewer, library: PersonaLibrary) -> CohortResults:
    """A cohort the viewer trains, each overridden attempt's overall moved by its persona's rubric weights."""
    return counted(teams.results(cohort, viewer), functools.cache(functools.partial(rubric_for, library)))


def attempt_verdict(teams: TeamStore, session_id: str, viewer: Viewer, library: PersonaLibrary) -> str | None:
    """For an assigned attempt the viewer may read: how it stands against its bar (with the trainer's scores
    counted); None for a learner's own practice."""
    found = teams.attempt(session_id, viewer)
    if found is None:
        return None
    assignment, tried = found
    return verdict(assignment, counted_attempt(tried, rubric_for(library, assignment.persona_id)))


def check_assignment(spec: AssignmentSpec, library: PersonaLibrary) -> AssignmentSpec:
    """The spec if its persona exists and its pass bar names only criteria that persona is graded on."""
    persona = library.get(spec.persona_id)  # a one-line error naming the persona when there is none
    rubric = load_rubric(persona.rubric or "default")
    unknown = sorted(set(spec.pass_bar.criteria) - set(rubric.ids))
    if unknown:
        raise RapportError(f"pass bar names {', '.join(unknown)}, which {persona.short_name} is not graded on; "
                           f"the criteria are: {', '.join(rubric.ids)}")
    return spec


def results_csv(teams: TeamStore, cohort: str, viewer: Viewer, library: PersonaLibrary) -> str:
    return export_csv(cohort_results(teams, cohort, viewer, library))


def results_json(teams: TeamStore, cohort: str, viewer: Viewer, library: PersonaLibrary) -> str:
    return json.dumps(export_json(cohort_results(teams, cohort, viewer, library), datetime.now(UTC)), indent=2,
                      ensure_ascii=False)


def _safe(name: str) -> str:
    """A name as a plain file name: no separators, and not starting with '-' or '.' (an option or a hidden file)."""
    return re.sub(r"[^A-Za-z0-9._@-]+", "_", name)[:64].lstrip("-.") or "learner"


def transcripts_zip(teams: TeamStore, assignment: str, viewer: Viewer, library: PersonaLibrary) -> tuple[str, bytes]:
    """(file name, zip bytes): every attempt at an assignment the viewer trains, as a readable transcript and as
    the session file `rapport sessions import` takes, plus an index."""
    found = teams.assignment(assignment, viewer)
    results = cohort_results(teams, found.cohort_id, viewer, library)
    tried = [a for a in results.attempts if a.assignment_id == found.id]
    if not tried:
        raise RapportError(f"nobody has attempted '{found.title}' yet: there are no transcripts to export")
    buffer = io.BytesIO()
    index = io.StringIO()
    rows = csv.writer(index, lineterminator="\n")
    rows.writerow(["learner", "session_id", "started_at", "end_reason", "passed", "overall", "file"])
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for attempt in tried:
            exported = teams.session_export(attempt.session_id, viewer)
            stem = f"{_safe(attempt.learner_id)}-{attempt.started_at:%Y%m%d-%H%M}-{attempt.session_id[:8]}"
            who = exported.persona_spec.short_name
            lines = [f"{found.title}: {attempt.learner_id} with {exported.persona_spec.name} ({found.difficulty.value})",
                     f"started {attempt.started_at:%Y-%m-%d %H:%M} UTC; ended: {attempt.end_reason or 'not yet'}", ""]
            lines += [f"{n}. {who if t.speaker is Speaker.PERSONA else attempt.learner_id}: {t.text}"
                      for n, t in enumerate(exported.turns)]
            lines += ["", verdict(found, attempt)]
            standing = {o.criterion: o for o in teams.overrides(viewer, session_id=attempt.session_id)}
            remarks = teams.comments(attempt.session_id, viewer)
            if standing or remarks:
                lines += ["", "Trainer's review:"]
                lines += [f"- {o.criterion.replace('_', ' ')}: {o.score:g} (machine "
                          f"{'-' if o.machine_score is None else f'{o.machine_score:g}'}), {o.reason} ({o.author})"
                          for o in standing.values()]
                lines += [f"- turn {c.turn}: {c.text} ({c.author})" for c in remarks]
            archive.writestr(f"{stem}.txt", "\n".join(lines) + "\n")
            archive.writestr(f"{stem}.json", exported.model_dump_json(indent=2))
            overall = attempt.scores.get("overall")
            rows.writerow([spreadsheet_safe(attempt.learner_id), attempt.session_id, attempt.started_at.isoformat(),
                           attempt.end_reason or "", passed(found, attempt), "" if overall is None else overall,
                           f"{stem}.txt"])
        archive.writestr("index.csv", index.getvalue())
    return f"{_safe(found.cohort_name)}-{_safe(found.title)}-transcripts.zip", buffer.getvalue()
