"""Teams in the store: cohorts, their members, assigned practice, the sessions attempting it, and trainers' review.

Every call names the `Viewer` it acts for, and the scope is in the SQL itself, never only in a shell:
- a learner sees the assignments of the cohorts they are a learner in, their own attempts, and the comments and
  overrides on their own sessions;
- a trainer sees the cohorts they train (membership as "trainer" *and* a trainer role in the login), and of their
  learners only the sessions started for those cohorts' assignments, never their private practice;
- an admin sees every cohort and its attempts, but not a learner's own practice either.
Anything out of scope is "not found", whoever asks and whatever id they guess, so existence does not leak either.
"""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..errors import RapportError
from ..persona.spec import Difficulty
from ..record import EndReason, SessionRecord
from ..roles import UserRole
from ..scores import card_scores
from .exports import SessionExport
from .ids import check_learner_id, check_session_id
from .sessions import SessionStore, _aware
from .tables import assignments, attempts, cohort_members, cohorts, comments, overrides, scorecards, sessions, turns

COHORT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$"
MAX_COMMENT = 4000
MAX_REASON = 2000
MAX_ATTEMPTS = 20
Score = Annotated[float, Field(ge=1, le=5, allow_inf_nan=False)]


class TeamError(RapportError):
    """A cohort, assignment or review the store refuses (not found for this user, or not allowed)."""


class Viewer(BaseModel):
    """Who is asking: a login name and its role (the local user without a login is an admin)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    role: UserRole

    @field_validator("name")
    @classmethod
    def _plain(cls, value: str) -> str:
        return check_learner_id(value)


class PassBar(BaseModel):
    """What an attempt must reach to pass: minimum criterion scores, a minimum overall, the persona's goal."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    criteria: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")], Score] = Field(
        default_factory=dict, max_length=20)
    overall: Score | None = None
    goal: bool = False  # the persona's success outcome must happen (the session ends in success)

    def passes(self, scores: dict[str, float], end_reason: str | None) -> bool:
        if self.goal and end_reason != EndReason.SUCCESS.value:
            return False
        if self.overall is not None and scores.get("overall", -math.inf) < self.overall:
            return False
        return all(scores.get(name, -math.inf) >= least for name, least in self.criteria.items())

    @classmethod
    def parse(cls, text: str, *, goal: bool = False) -> PassBar:
        """'empathy>=3.5, overall>=3' (as typed in the CLI and the Trainer tab) as a bar; a one-line error if not."""
        criteria: dict[str, float] = {}
        overall = None
        for part in filter(None, (p.strip() for p in (text or "").replace(";", ",").split(","))):
            match = re.fullmatch(r"([a-z][a-z0-9_ ]{0,63}?)\s*(?:>=|≥|=)\s*([0-9]+(?:\.[0-9]+)?)", part.lower())
            if match is None:
                raise TeamError(f"pass bar {part[:60]!r}: write criterion>=score, e.g. 'empathy>=3.5, overall>=3'")
            name, least = match.group(1).strip().replace(" ", "_"), float(match.group(2))
            if not 1 <= least <= 5:
                raise TeamError(f"pass bar {part[:60]!r}: a score is from 1 to 5")
            if name == "overall":
                overall = least
            else:
                criteria[name] = least
        return cls(criteria=criteria, overall=overall, goal=goal)

    def describe(self) -> str:
        parts = [f"{name.replace('_', ' ')} ≥ {least:g}" for name, least in self.criteria.items()]
        if self.overall is not None:
            parts.append(f"overall ≥ {self.overall:g}")
        if self.goal:
            parts.append("goal reached")
        return ", ".join(parts) or "finish the conversation"


class AssignmentSpec(BaseModel):
    """What a trainer assigns: a persona at a difficulty, by a date, in so many attempts, to a bar."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    persona_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
    difficulty: Difficulty = Difficulty.MEDIUM
    due_at: datetime | None = None
    max_attempts: int = Field(3, ge=1, le=MAX_ATTEMPTS)
    pass_bar: PassBar = Field(default_factory=PassBar)

    @field_validator("due_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


class Assignment(AssignmentSpec):
    id: str
    cohort_id: str
    cohort_name: str
    created_by: str
    created_at: datetime


class Cohort(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    created_by: str
    created_at: datetime
    trainers: list[str]
    learners: list[str]


class Attempt(BaseModel):
    """One session started for an assignment, with its machine scores and the trainers' overrides applied."""

    model_config = ConfigDict(extra="forbid")

    session_id: str
    assignment_id: str
    learner_id: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    turns: int
    machine: dict[str, float] = Field(default_factory=dict)  # the grader's scores (and "overall")
    overridden: dict[str, float] = Field(default_factory=dict)  # the newest trainer score per criterion

    @property
    def graded(self) -> bool:
        return bool(self.machine)

    @property
    def scores(self) -> dict[str, float]:
        """The scores that count: a trainer's override wins over the machine's."""
        return {**self.machine, **self.overridden}


class Comment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    session_id: str
    turn: int
    author: str
    text: str
    created_at: datetime


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    session_id: str
    criterion: str
    machine_score: float | None
    score: float
    reason: str
    author: str
    created_at: datetime


class CohortResults(BaseModel):
    """Everything a cohort view, an export or an attention list is computed from."""

    model_config = ConfigDict(extra="forbid")

    cohort: Cohort
    assignments: list[Assignment]
    attempts: list[Attempt]


def _now() -> datetime:
    return datetime.now(UTC)


class TeamStore:
    """Cohorts, assignments, attempts and review, always on behalf of one `Viewer`."""

    def __init__(self, url: str | None = None, sessions_store: SessionStore | None = None):
        self.sessions = sessions_store or SessionStore(url)
        self.engine = self.sessions.engine

    # -- scope ------------------------------------------------------------------------------------------------

    @staticmethod
    def _trained(viewer: Viewer):
        """The ids of the cohorts this viewer trains (every cohort for an admin; none for a learner)."""
        if viewer.role is UserRole.ADMIN:
            return sa.select(cohorts.c.id)
        if not viewer.role.trains:
            return sa.select(cohorts.c.id).where(sa.false())
        return sa.select(cohort_members.c.cohort_id).where(cohort_members.c.user_id == viewer.name,
                                                           cohort_members.c.role == "trainer")

    @staticmethod
    def _joined(viewer: Viewer):
        """The ids of the cohorts this viewer is a learner in."""
        return sa.select(cohort_members.c.cohort_id).where(cohort_members.c.user_id == viewer.name,
                                                           cohort_members.c.role == "learner")

    def _reviewable(self, viewer: Viewer):
        """The ids of the sessions this viewer may review: attempts at assignments of the cohorts they train."""
        return (sa.select(attempts.c.session_id).join(assignments, assignments.c.id == attempts.c.assignment_id)
                .where(assignments.c.cohort_id.in_(self._trained(viewer))))

    def _readable(self, viewer: Viewer):
        """The ids of the sessions this viewer may read: their own, and those they may review."""
        own = sa.select(sessions.c.id).where(sessions.c.learner_id == viewer.name)
        return sa.union(own, self._reviewable(viewer))

    def _cohort_row(self, db, ref: str, scope) -> Any:
        """The cohort named or identified by `ref` among the ids `scope` selects; else not found."""
        if not isinstance(ref, str) or not 0 < len(ref) <= 100:
            raise TeamError("a cohort is named by its name or id (1-100 characters)")
        # An id first, then a name (and no name can look like an id): a cohort named after another's id must
        # never stand in for it.
        row = (db.execute(sa.select(cohorts).where(cohorts.c.id == ref, cohorts.c.id.in_(scope))).mappings().first()
               or db.execute(sa.select(cohorts).where(cohorts.c.name == ref, cohorts.c.id.in_(scope))).mappings().first())
        if row is None:
            raise TeamError(f"no cohort {ref[:100]!r} that you train; see `rapport cohorts list`")
        return row

    def _members(self, db, cohort_ids: list[str]) -> dict[str, dict[str, list[str]]]:
        found: dict[str, dict[str, list[str]]] = {cid: {"trainer": [], "learner": []} for cid in cohort_ids}
        for cid, user, role in db.execute(sa.select(cohort_members.c.cohort_id, cohort_members.c.user_id,
                                                    cohort_members.c.role).where(cohort_members.c.cohort_id.in_(cohort_ids))
                                          .order_by(cohort_members.c.user_id)):
            found[cid][role].append(user)
        return found

    def _cohort(self, db, row, members: dict[str, list[str]] | None = None) -> Cohort:
        members = members or self._members(db, [row["id"]])[row["id"]]
        return Cohort(id=row["id"], name=row["name"], created_by=row["created_by"],
                      created_at=_aware(row["created_at"]), trainers=members["trainer"], learners=members["learner"])

    # -- cohorts ----------------------------------------------------------------------------------------------

    def create_cohort(self, name: str, viewer: Viewer, *, trainers: list[str] = ()) -> Cohort:
        """A new cohort; the viewer (a trainer or admin) trains it, with `trainers` beside them."""
        if not viewer.role.trains:
            raise TeamError("only a trainer or an admin can create a cohort")
        if not isinstance(name, str) or not re.fullmatch(COHORT_NAME_PATTERN, name):
            raise TeamError(f"cohort name {str(name)[:40]!r} is not allowed: 1-100 letters, digits, spaces, "
                            "'.', '_' or '-', starting with a letter or digit")
        if re.fullmatch(r"[0-9a-f]{32}", name):
            raise TeamError(f"cohort name {name!r} looks like a cohort id; pick a name people can read")
        cohort_id = uuid.uuid4().hex
        with self.engine.begin() as db:
            if db.execute(sa.select(cohorts.c.id).where(cohorts.c.name == name)).first():
                raise TeamError(f"a cohort named {name!r} already exists; pick another name")
            db.execute(cohorts.insert().values(id=cohort_id, name=name, created_by=viewer.name, created_at=_now()))
            # An admin creating a cohort for named trainers (the CLI's operator) does not join it: they see all.
            named = list(trainers) if trainers and viewer.role is UserRole.ADMIN else [viewer.name, *trainers]
            for trainer in dict.fromkeys(named):
                db.execute(cohort_members.insert().values(cohort_id=cohort_id, user_id=check_learner_id(trainer),
                                                          role="trainer", added_at=_now()))
            return self._cohort(db, self._cohort_row(db, cohort_id, sa.select(cohorts.c.id)))

    def add_members(self, cohort: str, users: list[str], viewer: Viewer, *, role: str = "learner") -> Cohort:
        """Add learners (or co-trainers) to a cohort the viewer trains; adding someone again changes their role."""
        if role not in ("learner", "trainer"):
            raise TeamError(f"a member is a 'learner' or a 'trainer', not {role!r}")
        with self.engine.begin() as db:
            row = self._cohort_row(db, cohort, self._trained(viewer))
            for user in dict.fromkeys(users):
                check_learner_id(user)
                where = (cohort_members.c.cohort_id == row["id"]) & (cohort_members.c.user_id == user)
                current = db.execute(sa.select(cohort_members.c.role).where(where)).scalar()
                if current == "trainer" and role == "learner":  # a typo must not take a co-trainer's cohort away
                    raise TeamError(f"{user} trains {row['name']}; remove them first to add them as a learner")
                if current is not None:
                    db.execute(cohort_members.update().where(where).values(role=role))
                else:
                    db.execute(cohort_members.insert().values(cohort_id=row["id"], user_id=user, role=role,
                                                              added_at=_now()))
            return self._cohort(db, row)

    def remove_member(self, cohort: str, user: str, viewer: Viewer) -> Cohort:
        """Remove a member; a cohort always keeps at least one trainer."""
        with self.engine.begin() as db:
            row = self._cohort_row(db, cohort, self._trained(viewer))
            found = self._cohort(db, row)
            if user not in found.trainers + found.learners:
                raise TeamError(f"{str(user)[:64]!r} is not a member of {found.name}")
            if found.trainers == [user]:
                raise TeamError(f"{user} is {found.name}'s only trainer; add another trainer first")
            db.execute(sa.delete(cohort_members).where(cohort_members.c.cohort_id == row["id"],
                                                       cohort_members.c.user_id == user))
            return self._cohort(db, row)

    def cohorts(self, viewer: Viewer) -> list[Cohort]:
        """The cohorts the viewer trains (an admin: all), by name."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(cohorts).where(cohorts.c.id.in_(self._trained(viewer)))
                              .order_by(cohorts.c.name)).mappings().all()
            members = self._members(db, [r["id"] for r in rows])
            return [self._cohort(db, r, members[r["id"]]) for r in rows]

    def cohort(self, ref: str, viewer: Viewer) -> Cohort:
        with self.engine.connect() as db:
            return self._cohort(db, self._cohort_row(db, ref, self._trained(viewer)))

    # -- assignments ------------------------------------------------------------------------------------------

    def assign(self, cohort: str, spec: AssignmentSpec, viewer: Viewer) -> Assignment:
        assignment_id = uuid.uuid4().hex
        with self.engine.begin() as db:
            row = self._cohort_row(db, cohort, self._trained(viewer))
            db.execute(assignments.insert().values(
                id=assignment_id, cohort_id=row["id"], title=spec.title, persona_id=spec.persona_id,
                difficulty=spec.difficulty.value, due_at=spec.due_at, max_attempts=spec.max_attempts,
                pass_bar=spec.pass_bar.model_dump(mode="json"), created_by=viewer.name, created_at=_now()))
        return self.assignment(assignment_id, viewer)

    def _assignment_query(self):
        """Assignments with their cohort's name, soonest due first, undated last."""
        return (sa.select(assignments, cohorts.c.name.label("cohort_name"))
                .join(cohorts, cohorts.c.id == assignments.c.cohort_id)
                .order_by(assignments.c.due_at.is_(None), assignments.c.due_at, assignments.c.created_at))

    @staticmethod
    def _assignment(row) -> Assignment:
        return Assignment(id=row["id"], cohort_id=row["cohort_id"], cohort_name=row["cohort_name"], title=row["title"],
                          persona_id=row["persona_id"], difficulty=row["difficulty"], due_at=_aware(row["due_at"]),
                          max_attempts=row["max_attempts"], pass_bar=PassBar.model_validate(row["pass_bar"]),
                          created_by=row["created_by"], created_at=_aware(row["created_at"]))

    def assignments(self, viewer: Viewer, *, cohort: str | None = None, as_learner: bool = False) -> list[Assignment]:
        """The assignments of the cohorts the viewer trains, or (`as_learner`) of those they are a learner in."""
        scope = self._joined(viewer) if as_learner else self._trained(viewer)
        query = self._assignment_query().where(assignments.c.cohort_id.in_(scope))
        with self.engine.connect() as db:
            if cohort is not None:
                query = query.where(assignments.c.cohort_id == self._cohort_row(db, cohort, scope)["id"])
            rows = db.execute(query).mappings().all()
        return [self._assignment(r) for r in rows]

    def assignment(self, ref: str, viewer: Viewer, *, as_learner: bool = False, cohort: str | None = None) -> Assignment:
        """One assignment by id (or a unique prefix of it) in the viewer's scope (and in `cohort`, when named)."""
        if not isinstance(ref, str) or not 0 < len(ref) <= 32 or not ref.isalnum():
            raise TeamError(f"{str(ref)[:40]!r} is not an assignment id; see `rapport cohorts show COHORT`")
        scope = self._joined(viewer) if as_learner else self._trained(viewer)
        query = self._assignment_query().where(assignments.c.cohort_id.in_(scope),
                                               assignments.c.id.startswith(ref, autoescape=True)).limit(2)
        with self.engine.connect() as db:
            if cohort is not None:
                query = query.where(assignments.c.cohort_id == self._cohort_row(db, cohort, scope)["id"])
            rows = db.execute(query).mappings().all()
        if len(rows) != 1:
            where = f"in {cohort}; see `rapport cohorts show {cohort}`" if cohort else "for you; see your assignments"
            raise TeamError(f"'{ref}' starts more than one assignment; give more of the id" if rows
                            else f"no assignment '{ref}' {where}")
        return self._assignment(rows[0])

    def delete_assignment(self, ref: str, viewer: Viewer) -> None:
        found = self.assignment(ref, viewer)
        with self.engine.begin() as db:
            db.execute(sa.delete(attempts).where(attempts.c.assignment_id == found.id))
            db.execute(sa.delete(assignments).where(assignments.c.id == found.id,
                                                    assignments.c.cohort_id.in_(self._trained(viewer))))

    # -- attempts ---------------------------------------------------------------------------------------------

    def attempts_left(self, assignment: Assignment, viewer: Viewer) -> int:
        with self.engine.connect() as db:
            used = db.execute(sa.select(sa.func.count()).where(attempts.c.assignment_id == assignment.id,
                                                               attempts.c.learner_id == viewer.name)).scalar()
        return max(0, assignment.max_attempts - used)

    def check_attempt(self, ref: str, viewer: Viewer) -> Assignment:
        """The assignment if the viewer, a learner in its cohort, has an attempt left; else a one-line refusal."""
        found = self.assignment(ref, viewer, as_learner=True)
        if self.attempts_left(found, viewer) == 0:
            raise TeamError(f"you have used all {found.max_attempts} attempt(s) at '{found.title}'")
        return found

    def record_attempt(self, ref: str, session_id: str, viewer: Viewer) -> Assignment:
        """Count the viewer's session `session_id` as an attempt at an assignment of a cohort they are in.

        Checked in one transaction: the session is theirs and plays the assignment's persona at its difficulty, and
        an attempt is left (so two tabs starting at once cannot both take the last one)."""
        found = self.assignment(ref, viewer, as_learner=True)
        with self.engine.begin() as db:
            session = db.execute(sa.select(sessions.c.persona_id, sessions.c.difficulty, sessions.c.started_at).where(
                sessions.c.id == check_session_id(session_id), sessions.c.learner_id == viewer.name)).first()
            if session is None:
                raise TeamError(f"no stored session '{session_id}' of yours")
            if (session.persona_id, session.difficulty) != (found.persona_id, found.difficulty.value):
                raise TeamError(f"'{found.title}' is practised with {found.persona_id} on {found.difficulty.value}")
            if db.execute(sa.select(attempts.c.session_id).where(attempts.c.session_id == session_id)).first():
                raise TeamError(f"session {session_id} already counts as an attempt")
            # Only a fresh session counts: not practice from before the assignment, nor one already under way.
            spoken = db.execute(sa.select(sa.func.count()).where(turns.c.session_id == session_id,
                                                                 turns.c.speaker == "learner")).scalar()
            if spoken or _aware(session.started_at) < found.created_at:
                raise TeamError(f"session {session_id[:12]} was not started for '{found.title}': start a new attempt")
            # Lock the assignment (PostgreSQL), insert, then count: on SQLite the insert waits for the other
            # writer, so the count always sees every committed attempt and the last one cannot be taken twice.
            db.execute(sa.select(assignments.c.id).where(assignments.c.id == found.id).with_for_update())
            db.execute(attempts.insert().values(session_id=session_id, assignment_id=found.id,
                                                learner_id=viewer.name, started_at=_now()))
            used = db.execute(sa.select(sa.func.count()).where(attempts.c.assignment_id == found.id,
                                                               attempts.c.learner_id == viewer.name)).scalar()
            if used > found.max_attempts:
                raise TeamError(f"you have used all {found.max_attempts} attempt(s) at '{found.title}'")
        return found

    def _attempts(self, db, where) -> list[Attempt]:
        count = sa.select(sa.func.count()).where(turns.c.session_id == attempts.c.session_id).scalar_subquery()
        rows = db.execute(sa.select(attempts, sessions.c.ended_at, sessions.c.end_reason, count.label("n_turns"))
                          .join(sessions, sessions.c.id == attempts.c.session_id).where(where)
                          .order_by(attempts.c.started_at)).mappings().all()
        ids = [r["session_id"] for r in rows]
        machine: dict[str, dict[str, float]] = {}
        for sid, data in db.execute(sa.select(scorecards.c.session_id, scorecards.c.data)
                                    .where(scorecards.c.session_id.in_(ids)).order_by(scorecards.c.id)):
            machine.setdefault(sid, card_scores(data))  # the first card saved is the one the learner was shown
        overridden: dict[str, dict[str, float]] = {}
        for sid, criterion, score in db.execute(sa.select(overrides.c.session_id, overrides.c.criterion,
                                                          overrides.c.score)
                                                .where(overrides.c.session_id.in_(ids)).order_by(overrides.c.id)):
            overridden.setdefault(sid, {})[criterion] = score  # the newest stands
        return [Attempt(session_id=r["session_id"], assignment_id=r["assignment_id"], learner_id=r["learner_id"],
                        started_at=_aware(r["started_at"]), ended_at=_aware(r["ended_at"]), end_reason=r["end_reason"],
                        turns=r["n_turns"], machine=machine.get(r["session_id"], {}),
                        overridden=overridden.get(r["session_id"], {})) for r in rows]

    def my_attempts(self, viewer: Viewer) -> list[Attempt]:
        """The viewer's own attempts at the assignments of cohorts they are in."""
        with self.engine.connect() as db:
            return self._attempts(db, (attempts.c.learner_id == viewer.name)
                                  & (sessions.c.learner_id == viewer.name))

    def results(self, cohort: str, viewer: Viewer) -> CohortResults:
        """A cohort the viewer trains: its members, assignments and every attempt at them, scored."""
        with self.engine.connect() as db:
            row = self._cohort_row(db, cohort, self._trained(viewer))
            found = self._cohort(db, row)
            listed = db.execute(self._assignment_query().where(assignments.c.cohort_id == row["id"])).mappings().all()
            tried = self._attempts(db, attempts.c.assignment_id.in_(
                sa.select(assignments.c.id).where(assignments.c.cohort_id == row["id"])))
        return CohortResults(cohort=found, assignments=[self._assignment(r) for r in listed], attempts=tried)

    # -- reading and reviewing sessions --------------------------------------------------------------------------

    def _owner(self, db, session_id: str, scope) -> str:
        owner = db.execute(sa.select(sessions.c.learner_id).where(sessions.c.id == check_session_id(session_id),
                                                                   sessions.c.id.in_(scope))).scalar()
        if owner is None:
            raise TeamError(f"no session '{session_id}' that you can see")
        return owner

    def session_record(self, session_id: str, viewer: Viewer) -> SessionRecord:
        """A session the viewer may read (their own, or an attempt in a cohort they train), as stored."""
        with self.engine.connect() as db:
            owner = self._owner(db, session_id, self._readable(viewer))
        return self.sessions.load_record(session_id, learner_id=owner)

    def session_export(self, session_id: str, viewer: Viewer) -> SessionExport:
        """The same session as `rapport sessions export` writes it (for a cohort's transcripts)."""
        with self.engine.connect() as db:
            owner = self._owner(db, session_id, self._readable(viewer))
        return self.sessions.export(session_id, learner_id=owner)

    def comment(self, session_id: str, turn: int, text: str, viewer: Viewer) -> Comment:
        """A trainer's comment on one turn of a session they review."""
        if not isinstance(text, str) or not text.strip():
            raise TeamError("write a comment first")
        if len(text) > MAX_COMMENT:
            raise TeamError(f"a comment is at most {MAX_COMMENT} characters ({len(text)} given)")
        with self.engine.begin() as db:
            self._owner(db, session_id, self._reviewable(viewer))
            mine = db.execute(sa.select(turns.c.idx).where(turns.c.session_id == session_id,
                                                           turns.c.speaker == "learner")).scalars().all()
            if isinstance(turn, bool) or turn not in mine:
                listed = ", ".join(map(str, sorted(mine))) or "none yet"
                raise TeamError(f"comment on one of the learner's turns (session {session_id[:12]}: {listed}); "
                                f"there is no learner turn {str(turn)[:12]}")
            new = db.execute(comments.insert().values(session_id=session_id, turn_idx=turn, author=viewer.name,
                                                      text=text.strip(), created_at=_now()))
            comment_id = new.inserted_primary_key[0]
        return next(c for c in self.comments(session_id, viewer) if c.id == comment_id)

    def comments(self, session_id: str, viewer: Viewer) -> list[Comment]:
        """The comments on a session the viewer may read, by turn then time."""
        with self.engine.connect() as db:
            self._owner(db, session_id, self._readable(viewer))
            rows = db.execute(sa.select(comments).where(comments.c.session_id == session_id)
                              .order_by(comments.c.turn_idx, comments.c.id)).mappings().all()
        return [Comment(id=r["id"], session_id=r["session_id"], turn=r["turn_idx"], author=r["author"], text=r["text"],
                        created_at=_aware(r["created_at"])) for r in rows]

    def reviewed(self, viewer: Viewer) -> dict[str, tuple[int, int]]:
        """(comments, overridden criteria) on each of the viewer's own sessions a trainer reviewed."""
        found: dict[str, tuple[int, int]] = {}
        with self.engine.connect() as db:
            own = sa.select(sessions.c.id).where(sessions.c.learner_id == viewer.name)
            for n, (table, counted) in enumerate(((comments, sa.func.count()),
                                                  (overrides, sa.func.count(sa.distinct(overrides.c.criterion))))):
                for sid, count in db.execute(sa.select(table.c.session_id, counted)
                                             .where(table.c.session_id.in_(own)).group_by(table.c.session_id)):
                    pair = list(found.get(sid, (0, 0)))
                    pair[n] = count
                    found[sid] = (pair[0], pair[1])
        return found

    def attempt(self, session_id: str, viewer: Viewer) -> tuple[Assignment, Attempt] | None:
        """The assignment a session the viewer may read attempts, with the attempt; None for private practice."""
        with self.engine.connect() as db:
            self._owner(db, session_id, self._readable(viewer))
            tried = self._attempts(db, attempts.c.session_id == session_id)
            if not tried:
                return None
            row = db.execute(self._assignment_query().where(assignments.c.id == tried[0].assignment_id)).mappings().one()
        return self._assignment(row), tried[0]

    def override(self, session_id: str, criterion: str, score: float, reason: str, viewer: Viewer) -> Override:
        """A trainer's score for one criterion of a graded session they review, kept beside the machine's."""
        if not isinstance(reason, str) or not reason.strip():
            raise TeamError("give a reason for the override: it is what the learner and the calibration read")
        if len(reason) > MAX_REASON:
            raise TeamError(f"a reason is at most {MAX_REASON} characters ({len(reason)} given)")
        if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score) or not 1 <= score <= 5:
            raise TeamError(f"a score is a number from 1 to 5, not {score!r}")
        with self.engine.begin() as db:
            self._owner(db, session_id, self._reviewable(viewer))
            card = db.execute(sa.select(scorecards.c.data).where(scorecards.c.session_id == session_id)
                              .order_by(scorecards.c.id).limit(1)).scalar()
            if card is None:
                raise TeamError(f"session {session_id[:12]} has no scorecard yet: it is graded when it ends")
            machine = card_scores(card)
            if criterion not in machine or criterion == "overall":
                known = ", ".join(sorted(set(machine) - {"overall"}))
                raise TeamError(f"no criterion {str(criterion)[:64]!r} in this scorecard; it has {known}")
            new = db.execute(overrides.insert().values(session_id=session_id, criterion=criterion,
                                                       machine_score=machine[criterion], score=float(score),
                                                       reason=reason.strip(), author=viewer.name, created_at=_now()))
            override_id = new.inserted_primary_key[0]
        return next(o for o in self.overrides(viewer, session_id=session_id) if o.id == override_id)

    def overrides(self, viewer: Viewer, *, session_id: str | None = None, cohort: str | None = None,
                  latest: bool = False) -> list[Override]:
        """Overrides on one session the viewer may read, or on every session they review (in one cohort);
        `latest`: only the one that stands per session and criterion."""
        with self.engine.connect() as db:
            if session_id is not None:
                self._owner(db, session_id, self._readable(viewer))
                where = overrides.c.session_id == session_id
            else:
                scope = self._reviewable(viewer)
                if cohort is not None:
                    cid = self._cohort_row(db, cohort, self._trained(viewer))["id"]
                    scope = scope.where(assignments.c.cohort_id == cid)
                where = overrides.c.session_id.in_(scope)
            rows = db.execute(sa.select(overrides).where(where).order_by(overrides.c.id)).mappings().all()
        found = [Override(id=r["id"], session_id=r["session_id"], criterion=r["criterion"],
                          machine_score=r["machine_score"], score=r["score"], reason=r["reason"], author=r["author"],
                          created_at=_aware(r["created_at"])) for r in rows]
        if latest:
            found = list({(o.session_id, o.criterion): o for o in found}.values())
        return found
