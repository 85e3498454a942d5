"""The session store: every turn, appraisal, ending and scorecard committed as it happens; sessions resumable.

Every read and write names the learner who owns the session, and the query itself is scoped by it: another
learner's session is "not found", whatever id or prefix is asked for. Ids are checked before they reach SQL.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, ValidationError

from ..appraisal import TurnAppraisal
from ..config import ModelSpec
from ..errors import RapportError
from ..persona.spec import PersonaSpec
from ..record import EndReason, Ending, SavedScorecard, SessionRecord
from ..session import Session
from ..signals import TurnReader
from ..transcript import Speaker, Turn
from .database import engine_for
from .exports import SessionExport
from .ids import check_learner_id, check_session_id
from .tables import appraisals, attempts, comments, memories, overrides, scorecards, sessions, turn_audio, turns

log = logging.getLogger(__name__)
DEFAULT_LEARNER = "local"
MAX_KEPT_AUDIO_BYTES = 8 * 1024 * 1024  # two minutes of 16 kHz 16-bit mono is 3.8 MB
_CHILDREN = (memories, scorecards, appraisals, turn_audio, turns, attempts, comments, overrides)


class SessionNotFoundError(RapportError):
    """No stored session with that id (for this learner)."""


class SessionSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    learner_id: str
    persona_id: str
    persona_name: str
    difficulty: str
    model: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    end_detail: str | None
    turns: int
    overall: float | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _owned(session_id: str, learner_id: str):
    """The ids of this learner's session `session_id` (zero or one): the scope of every child-table query."""
    return sa.select(sessions.c.id).where(sessions.c.id == session_id, sessions.c.learner_id == learner_id)


class SessionStore:
    """Reads and writes sessions in the configured database, always on behalf of one learner."""

    def __init__(self, url: str | None = None):
        self.engine = engine_for(url)

    # -- writing, as it happens ----------------------------------------------------------------------------

    def record(self, session: Session, learner_id: str) -> SessionRecorder:
        """Start storing `session` for `learner_id`: its row and every turn so far now, every later change as it happens."""
        check_learner_id(learner_id)
        record = session.record
        with self.engine.begin() as db:
            found = db.execute(sa.select(sessions.c.learner_id, sessions.c.end_reason)
                               .where(sessions.c.id == record.id)).first()
            owner, ended = found if found is not None else (None, None)
            stored = db.execute(sa.select(sa.func.count()).where(turns.c.session_id == record.id)).scalar()
            if owner is None:
                db.execute(sessions.insert().values(
                    id=record.id, learner_id=learner_id, persona_id=record.persona.id,
                    persona=record.persona.model_dump(mode="json"), difficulty=record.difficulty.value,
                    model=record.model, max_turns=record.max_turns, started_at=record.started_at, updated_at=_now(),
                ))
            elif owner != learner_id:
                raise SessionNotFoundError(f"no stored session '{record.id}' for learner '{learner_id}'")
        record.learner_id = learner_id
        recorder = SessionRecorder(self, learner_id)
        session.listeners.append(recorder)
        # A resumed session's stored turns and ending are already there: writing them again would move its
        # end time (and an assessed attempt's record), so only what is new is written.
        for index in range(stored if owner == learner_id else 0, len(session.turns)):
            recorder.turn_added(session, index)
        if session.ending and (owner != learner_id or ended != session.ending.reason.value):
            recorder.ended(session)
        return recorder

    def _require(self, db, session_id: str, learner_id: str) -> None:
        if db.execute(_owned(session_id, learner_id)).first() is None:
            raise SessionNotFoundError(f"no stored session '{session_id}' for learner '{learner_id}'")

    def save_turn(self, session: Session, index: int, *, learner_id: str) -> None:
        turn = session.turns[index]
        appraisal = next((a for a in session.trajectory if a.turn == index), None)
        with self.engine.begin() as db:
            self._require(db, session.id, learner_id)
            mine = _owned(session.id, learner_id)
            if (db.execute(sa.select(attempts.c.session_id).where(attempts.c.session_id.in_(mine))).first()
                    and db.execute(sa.select(turns.c.idx).where(turns.c.session_id.in_(mine), turns.c.idx >= index)
                                   .limit(1)).first()):
                # e.g. a second tab on the same attempt: what the first one stored stays as said
                raise RapportError(f"session {session.id[:12]} is an assessed attempt that went on elsewhere (another "
                                   "tab or window): reload the page to see it as it stands")
            db.execute(sa.delete(turns).where(turns.c.session_id.in_(mine), turns.c.idx >= index))
            db.execute(sa.delete(appraisals).where(appraisals.c.session_id.in_(mine), appraisals.c.turn_idx >= index))
            # Kept recordings stay: a resumed session saves its turns again; undo and restart go through truncate.
            db.execute(turns.insert().values(session_id=session.id, idx=index, speaker=turn.speaker.value,
                                             text=turn.text, at=turn.at, delivery=_delivery(turn)))
            if appraisal is not None:
                db.execute(appraisals.insert().values(session_id=session.id, turn_idx=index,
                                                      data=appraisal.model_dump(mode="json")))
            db.execute(sessions.update().where(sessions.c.id.in_(mine)).values(
                updated_at=_now(), ended_at=None, end_reason=None, end_detail=None))

    def truncate(self, session: Session, first_removed: int, *, learner_id: str) -> None:
        with self.engine.begin() as db:
            mine = _owned(session.id, learner_id)
            if db.execute(sa.select(attempts.c.session_id).where(attempts.c.session_id.in_(mine))).first():
                # Session.assessed refuses first; this keeps the record whoever calls the store
                raise RapportError(f"session {session.id[:12]} is an assessed attempt: its turns are never removed")
            db.execute(sa.delete(turns).where(turns.c.session_id.in_(mine), turns.c.idx >= first_removed))
            db.execute(sa.delete(appraisals).where(appraisals.c.session_id.in_(mine),
                                                   appraisals.c.turn_idx >= first_removed))
            db.execute(sa.delete(turn_audio).where(turn_audio.c.session_id.in_(mine), turn_audio.c.idx >= first_removed))
            db.execute(sessions.update().where(sessions.c.id.in_(mine)).values(
                updated_at=_now(), ended_at=None, end_reason=None, end_detail=None))

    def save_ending(self, session: Session, *, learner_id: str) -> None:
        ending = session.ending
        with self.engine.begin() as db:
            db.execute(sessions.update().where(sessions.c.id.in_(_owned(session.id, learner_id))).values(
                updated_at=_now(), ended_at=_now() if ending else None,
                end_reason=ending.reason.value if ending else None, end_detail=ending.detail if ending else None))

    def save_scorecard(self, session_id: str, source: str, data: dict[str, Any], *, learner_id: str) -> None:
        with self.engine.begin() as db:
            self._require(db, check_session_id(session_id), check_learner_id(learner_id))
            db.execute(scorecards.insert().values(session_id=session_id, source=source, data=data, created_at=_now()))

    # -- reading ---------------------------------------------------------------------------------------

    def list(self, *, learner_id: str | None, persona_id: str | None = None, limit: int = 200) -> list[SessionSummary]:
        """This learner's sessions, newest first; `learner_id=None` (operator tools only) lists every learner's."""
        count = sa.select(sa.func.count()).where(turns.c.session_id == sessions.c.id).scalar_subquery()
        query = sa.select(sessions, count.label("n_turns")).order_by(sessions.c.started_at.desc()).limit(limit)
        if learner_id is not None:
            query = query.where(sessions.c.learner_id == check_learner_id(learner_id))
        if persona_id is not None:
            query = query.where(sessions.c.persona_id == persona_id)
        with self.engine.connect() as db:
            rows = db.execute(query).mappings().all()
            overall = self._latest_overall(db, [r["id"] for r in rows])
        return [summary for r in rows if (summary := _summary(r, overall.get(r["id"]))) is not None]

    def _latest_overall(self, db, ids: list[str]) -> dict[str, float]:
        if not ids:
            return {}
        rows = db.execute(sa.select(scorecards.c.session_id, scorecards.c.data).where(
            scorecards.c.session_id.in_(ids)).order_by(scorecards.c.id)).all()
        return {session_id: data.get("overall") if isinstance(data, dict) else None for session_id, data in rows}

    def _row(self, db, session_id: str, learner_id: str):
        """This learner's session with id `session_id`, or the only one whose id starts with it (as with git)."""
        check_session_id(session_id)
        check_learner_id(learner_id)
        mine = sa.select(sessions).where(sessions.c.learner_id == learner_id)
        row = db.execute(mine.where(sessions.c.id == session_id)).mappings().first()
        if row is not None:
            return row
        # The prefix is compared literally (autoescape), never as a LIKE pattern.
        matches = db.execute(mine.where(sessions.c.id.startswith(session_id, autoescape=True)).limit(2)).mappings().all()
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise SessionNotFoundError(f"'{session_id}' starts more than one stored session; give more of the id")
        raise SessionNotFoundError(f"no stored session '{session_id}'; see `rapport sessions list`")

    def summary(self, session_id: str, *, learner_id: str) -> SessionSummary:
        """This learner's session as listed (works on a damaged row too, so it can still be deleted)."""
        with self.engine.connect() as db:
            row = dict(self._row(db, session_id, learner_id))
            row["n_turns"] = db.execute(sa.select(sa.func.count()).where(
                turns.c.session_id.in_(_owned(row["id"], learner_id)))).scalar()
        summary = _summary(row, None)
        if summary is None:
            raise SessionNotFoundError(f"stored session {row['id']} is damaged beyond listing")
        return summary

    def _read(self, db, session_id: str, learner_id: str) -> tuple:
        """This learner's session row with its turns, appraisals and scorecards, oldest first (every query scoped)."""
        row = self._row(db, session_id, learner_id)
        mine = _owned(row["id"], learner_id)
        turn_rows = db.execute(sa.select(turns).where(turns.c.session_id.in_(mine)).order_by(turns.c.idx)).mappings().all()
        trajectory = db.execute(sa.select(appraisals.c.data).where(appraisals.c.session_id.in_(mine))
                                .order_by(appraisals.c.turn_idx)).scalars().all()
        cards = db.execute(sa.select(scorecards.c.source, scorecards.c.data, scorecards.c.created_at)
                           .where(scorecards.c.session_id.in_(mine)).order_by(scorecards.c.id)).mappings().all()
        return row, turn_rows, trajectory, cards

    def load_record(self, session_id: str, *, learner_id: str) -> SessionRecord:
        """This learner's stored session as it stands, to show it: no model is involved."""
        with self.engine.connect() as db:
            row, turn_rows, trajectory, cards = self._read(db, session_id, learner_id)
        try:
            return SessionRecord(
                id=row["id"], persona=PersonaSpec.model_validate(row["persona"]), difficulty=row["difficulty"],
                max_turns=row["max_turns"], model=row["model"] or "", learner_id=row["learner_id"],
                started_at=_aware(row["started_at"]), updated_at=_aware(row["updated_at"]),
                turns=[_turn(t) for t in turn_rows],
                trajectory=[TurnAppraisal.model_validate(a) for a in trajectory],
                ending=Ending(reason=EndReason(row["end_reason"]), detail=row["end_detail"] or "")
                if row["end_reason"] else None,
                scorecards=[SavedScorecard(source=c["source"], data=c["data"], created_at=_aware(c["created_at"]))
                            for c in cards],
            )
        except (ValidationError, ValueError) as exc:
            raise _damaged(row["id"], exc) from None

    def load(self, session_id: str, model: BaseChatModel, model_spec: ModelSpec | None = None, *,
             learner_id: str, reader: TurnReader | None = None) -> Session:
        """This learner's stored session, live again to continue it: every turn, the rapport state and the trajectory."""
        return Session.from_record(self.load_record(session_id, learner_id=learner_id), model, model_spec=model_spec,
                                   reader=reader)

    def export(self, session_id: str, *, learner_id: str) -> SessionExport:
        with self.engine.connect() as db:
            row, turn_rows, trajectory, cards = self._read(db, session_id, learner_id)
            remembered = db.execute(sa.select(memories).where(memories.c.session_id.in_(_owned(row["id"], learner_id)),
                                                              memories.c.learner_id == learner_id)).mappings().all()
        try:
            return SessionExport(
                persona=row["persona_id"], turns=[_turn(t) for t in turn_rows],
                session={k: v for k, v in row.items() if k != "persona"}, persona_spec=row["persona"],
                trajectory=list(trajectory), scorecards=[dict(c) for c in cards], memories=[dict(m) for m in remembered],
            )
        except ValidationError as exc:
            raise _damaged(row["id"], exc) from None

    def import_(self, export: SessionExport, *, learner_id: str, replace: bool = False) -> str:
        """Store a validated export as this learner's session (same id), in one transaction.

        Refuses to overwrite a stored session unless `replace`, and never one of another learner.
        """
        check_learner_id(learner_id)
        sid = export.session.id
        try:
            with self.engine.begin() as db:
                owner = db.execute(sa.select(sessions.c.learner_id).where(sessions.c.id == sid)).scalar()
                if owner is not None and owner != learner_id:
                    raise RapportError(f"session {sid} is already stored for another learner; it cannot be imported")
                if owner is not None:
                    if not replace:
                        raise RapportError(f"session {sid} is already stored; use --force to replace it")
                    if db.execute(sa.select(attempts.c.session_id).where(attempts.c.session_id == sid)).first():
                        raise RapportError(f"session {sid} is an assessed attempt: it is never replaced")
                    self._delete_rows(db, sid, learner_id)
                meta = export.session.model_dump()
                meta.update(learner_id=learner_id, difficulty=export.session.difficulty.value,
                            end_reason=export.session.end_reason.value if export.session.end_reason else None)
                db.execute(sessions.insert().values(**meta, persona=export.persona_spec.model_dump(mode="json")))
                for index, turn in enumerate(export.turns):
                    db.execute(turns.insert().values(session_id=sid, idx=index, speaker=turn.speaker.value,
                                                     text=turn.text, at=turn.at, delivery=_delivery(turn)))
                for appraisal in export.trajectory:
                    db.execute(appraisals.insert().values(session_id=sid, turn_idx=appraisal.turn,
                                                          data=appraisal.model_dump(mode="json")))
                for card in export.scorecards:
                    db.execute(scorecards.insert().values(session_id=sid, **card.model_dump()))
                for memory in export.memories:  # the importing learner's memories, whoever wrote the file
                    db.execute(memories.insert().values(**{**memory.model_dump(), "learner_id": learner_id}))
        except (sa.exc.IntegrityError, sa.exc.DataError) as exc:  # e.g. a memory id another session already uses
            detail = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
            raise RapportError(f"session {sid} conflicts with stored data ({detail}); nothing was imported") from None
        return sid

    def _delete_rows(self, db, session_id: str, learner_id: str) -> None:
        mine = _owned(session_id, learner_id)
        for table in _CHILDREN:
            db.execute(sa.delete(table).where(table.c.session_id.in_(mine)))
        db.execute(sa.delete(sessions).where(sessions.c.id == session_id, sessions.c.learner_id == learner_id))

    def delete(self, session_id: str, *, learner_id: str) -> str:
        with self.engine.begin() as db:
            sid = self._row(db, session_id, learner_id)["id"]
            self._delete_rows(db, sid, learner_id)
        return sid

    def keep_audio(self, session_id: str, index: int, wav: bytes, *, learner_id: str) -> None:
        """Store the learner's recording of turn `index` (only ever called when they opted in to keeping audio),
        and mark the turn's delivery `audio_kept` in the same transaction, so the turn says so only if it is."""
        if len(wav) > MAX_KEPT_AUDIO_BYTES:
            raise RapportError(f"a recording of {len(wav) // 1_000_000} MB is too large to keep")
        with self.engine.begin() as db:
            sid = self._row(db, session_id, learner_id)["id"]
            mine = _owned(sid, learner_id)
            found = db.execute(sa.select(turns.c.delivery).where(turns.c.session_id.in_(mine), turns.c.idx == index)).first()
            if found is None:
                raise SessionNotFoundError(f"session {sid} has no turn {index}")
            if not isinstance(found.delivery, dict):
                raise RapportError(f"turn {index} of session {sid} was not spoken: it has no recording to keep")
            db.execute(sa.delete(turn_audio).where(turn_audio.c.session_id.in_(mine), turn_audio.c.idx == index))
            db.execute(turn_audio.insert().values(session_id=sid, idx=index, wav=wav, created_at=_now()))
            db.execute(turns.update().where(turns.c.session_id.in_(mine), turns.c.idx == index)
                       .values(delivery={**found.delivery, "audio_kept": True}))

    def audio(self, session_id: str, index: int, *, learner_id: str) -> bytes | None:
        """This learner's kept recording of turn `index`, or None when it was not kept."""
        with self.engine.connect() as db:
            sid = self._row(db, session_id, learner_id)["id"]
            return db.execute(sa.select(turn_audio.c.wav).where(turn_audio.c.session_id.in_(_owned(sid, learner_id)),
                                                                turn_audio.c.idx == index)).scalar()

    def scorecards(self, session_id: str, *, learner_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            sid = self._row(db, session_id, learner_id)["id"]
            return list(db.execute(sa.select(scorecards.c.data).where(scorecards.c.session_id.in_(_owned(sid, learner_id)))
                                   .order_by(scorecards.c.id)).scalars().all())


def _summary(row, overall: Any) -> SessionSummary | None:
    """One listed session; a damaged row is logged and left out, so one bad row never breaks the list."""
    persona = row["persona"] if isinstance(row["persona"], dict) else {}
    try:
        return SessionSummary(
            id=row["id"], learner_id=row["learner_id"], persona_id=row["persona_id"],
            persona_name=str(persona.get("name") or row["persona_id"]), difficulty=row["difficulty"], model=row["model"],
            started_at=_aware(row["started_at"]), updated_at=_aware(row["updated_at"]), ended_at=_aware(row["ended_at"]),
            end_reason=row["end_reason"], end_detail=row["end_detail"], turns=row["n_turns"],
            overall=overall if isinstance(overall, int | float) and not isinstance(overall, bool) else None,
        )
    except ValidationError as exc:
        log.warning("stored session %s is damaged and not listed: %s", row["id"], exc.errors(include_url=False)[0]["msg"])
        return None


def _damaged(session_id: str, exc: ValidationError | ValueError) -> RapportError:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        what = f"{'.'.join(map(str, error['loc'])) or '<root>'}: {error['msg']}"
    else:  # e.g. an end reason no version of Rapport wrote
        what = str(exc)
    return RapportError(f"stored session {session_id} is damaged ({what}); delete it or import it again")


def _turn(row) -> Turn:
    return Turn(speaker=Speaker(row["speaker"]), text=row["text"], at=_aware(row["at"]), delivery=row.get("delivery"))


def _delivery(turn: Turn) -> dict[str, Any] | None:
    return turn.delivery.model_dump(mode="json") if turn.delivery is not None else None


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything here is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SessionRecorder:
    """A session listener that commits every change to the store as it happens, as its learner."""

    def __init__(self, store: SessionStore, learner_id: str):
        self.store = store
        self.learner_id = learner_id

    def turn_added(self, session: Session, index: int) -> None:
        self.store.save_turn(session, index, learner_id=self.learner_id)

    def turns_removed(self, session: Session, first_removed: int) -> None:
        self.store.truncate(session, first_removed, learner_id=self.learner_id)

    def ended(self, session: Session) -> None:
        self.store.save_ending(session, learner_id=self.learner_id)
