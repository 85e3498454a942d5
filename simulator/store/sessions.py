"""The session store: every turn, appraisal, ending and scorecard committed as it happens; sessions resumable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, ConfigDict, Field

from ..appraisal import TurnAppraisal
from ..config import ModelSpec
from ..errors import RapportError
from ..persona.spec import PersonaSpec
from ..session import EndReason, Ending, Session
from ..transcript import Speaker, Turn
from .database import engine_for
from .tables import appraisals, memories, scorecards, sessions, turns

DEFAULT_LEARNER = "local"


class SessionNotFoundError(RapportError):
    """No stored session with that id."""


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


class SessionExport(BaseModel):
    """A session as a portable file; also a valid transcript file (`persona` and `turns` at the top)."""

    model_config = ConfigDict(extra="forbid")

    format: str = "rapport-session/1"
    persona: str
    turns: list[Turn]
    session: dict[str, Any]
    persona_spec: dict[str, Any]
    trajectory: list[dict[str, Any]] = Field(default_factory=list)
    scorecards: list[dict[str, Any]] = Field(default_factory=list)
    memories: list[dict[str, Any]] = Field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


class SessionStore:
    """Reads and writes sessions in the configured database."""

    def __init__(self, url: str | None = None):
        self.engine = engine_for(url)

    # -- writing, as it happens ----------------------------------------------------------------------------

    def record(self, session: Session, learner_id: str = DEFAULT_LEARNER) -> SessionRecorder:
        """Start storing `session`: its row and every turn so far now, every later change as it happens."""
        with self.engine.begin() as db:
            exists = db.execute(sa.select(sessions.c.id).where(sessions.c.id == session.id)).first()
            if not exists:
                db.execute(sessions.insert().values(
                    id=session.id, learner_id=learner_id, persona_id=session.persona.id,
                    persona=session.persona.model_dump(mode="json"), difficulty=session.difficulty.value,
                    model=session.model_spec.label if session.model_spec else "", max_turns=session.max_turns,
                    started_at=session.started_at, updated_at=_now(),
                ))
        recorder = SessionRecorder(self, learner_id)
        session.listeners.append(recorder)
        for index in range(len(session.turns)):
            recorder.turn_added(session, index)
        if session.ending:
            recorder.ended(session)
        return recorder

    def save_turn(self, session: Session, index: int) -> None:
        turn = session.turns[index]
        appraisal = next((a for a in session.trajectory if a.turn == index), None)
        with self.engine.begin() as db:
            db.execute(sa.delete(turns).where(turns.c.session_id == session.id, turns.c.idx >= index))
            db.execute(sa.delete(appraisals).where(appraisals.c.session_id == session.id, appraisals.c.turn_idx >= index))
            db.execute(turns.insert().values(session_id=session.id, idx=index, speaker=turn.speaker.value,
                                             text=turn.text, at=turn.at))
            if appraisal is not None:
                db.execute(appraisals.insert().values(session_id=session.id, turn_idx=index,
                                                      data=appraisal.model_dump(mode="json")))
            db.execute(sessions.update().where(sessions.c.id == session.id).values(
                updated_at=_now(), ended_at=None, end_reason=None, end_detail=None))

    def truncate(self, session: Session, first_removed: int) -> None:
        with self.engine.begin() as db:
            db.execute(sa.delete(turns).where(turns.c.session_id == session.id, turns.c.idx >= first_removed))
            db.execute(sa.delete(appraisals).where(appraisals.c.session_id == session.id,
                                                   appraisals.c.turn_idx >= first_removed))
            db.execute(sessions.update().where(sessions.c.id == session.id).values(
                updated_at=_now(), ended_at=None, end_reason=None, end_detail=None))

    def save_ending(self, session: Session) -> None:
        ending = session.ending
        with self.engine.begin() as db:
            db.execute(sessions.update().where(sessions.c.id == session.id).values(
                updated_at=_now(), ended_at=_now() if ending else None,
                end_reason=ending.reason.value if ending else None, end_detail=ending.detail if ending else None))

    def save_scorecard(self, session_id: str, source: str, data: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            db.execute(scorecards.insert().values(session_id=session_id, source=source, data=data, created_at=_now()))

    # -- reading ---------------------------------------------------------------------------------------

    def list(self, learner_id: str | None = None, persona_id: str | None = None, limit: int = 200) -> list[SessionSummary]:
        count = sa.select(sa.func.count()).where(turns.c.session_id == sessions.c.id).scalar_subquery()
        query = sa.select(sessions, count.label("n_turns")).order_by(sessions.c.started_at.desc()).limit(limit)
        if learner_id is not None:
            query = query.where(sessions.c.learner_id == learner_id)
        if persona_id is not None:
            query = query.where(sessions.c.persona_id == persona_id)
        with self.engine.connect() as db:
            rows = db.execute(query).mappings().all()
            overall = self._latest_overall(db, [r["id"] for r in rows])
        return [SessionSummary(
            id=r["id"], learner_id=r["learner_id"], persona_id=r["persona_id"], persona_name=r["persona"]["name"],
            difficulty=r["difficulty"], model=r["model"], started_at=_aware(r["started_at"]),
            updated_at=_aware(r["updated_at"]), ended_at=_aware(r["ended_at"]), end_reason=r["end_reason"],
            end_detail=r["end_detail"], turns=r["n_turns"], overall=overall.get(r["id"]),
        ) for r in rows]

    def _latest_overall(self, db, ids: list[str]) -> dict[str, float]:
        if not ids:
            return {}
        rows = db.execute(sa.select(scorecards.c.session_id, scorecards.c.data).where(
            scorecards.c.session_id.in_(ids)).order_by(scorecards.c.id)).all()
        return {session_id: data.get("overall") for session_id, data in rows}

    def _row(self, db, session_id: str):
        row = db.execute(sa.select(sessions).where(sessions.c.id == session_id)).mappings().first()
        if row is None:
            matches = db.execute(sa.select(sessions.c.id).where(sessions.c.id.like(f"{session_id}%"))).scalars().all()
            if len(matches) == 1:  # a unique prefix is enough, as with git
                return self._row(db, matches[0])
            raise SessionNotFoundError(f"no stored session '{session_id}'; see `rapport sessions list`")
        return row

    def load(self, session_id: str, model: BaseChatModel, model_spec: ModelSpec | None = None) -> Session:
        """Rebuild a stored session to continue it: every turn, the rapport state and the trajectory."""
        with self.engine.connect() as db:
            row = self._row(db, session_id)
            turn_rows = db.execute(sa.select(turns).where(turns.c.session_id == row["id"]).order_by(turns.c.idx)).mappings().all()
            appraisal_rows = db.execute(sa.select(appraisals.c.data).where(appraisals.c.session_id == row["id"])
                                        .order_by(appraisals.c.turn_idx)).scalars().all()
        persona = PersonaSpec.model_validate(row["persona"])
        session = Session(persona, model, difficulty=row["difficulty"], max_turns=row["max_turns"],
                          model_spec=model_spec, session_id=row["id"])
        session.started_at = _aware(row["started_at"])
        session.turns = [Turn(speaker=Speaker(t["speaker"]), text=t["text"], at=_aware(t["at"])) for t in turn_rows]
        if session.dynamics is not None:
            session.dynamics.trajectory = [TurnAppraisal.model_validate(a) for a in appraisal_rows]
        if row["end_reason"]:
            session.ending = Ending(reason=EndReason(row["end_reason"]), detail=row["end_detail"] or "")
        return session

    def export(self, session_id: str) -> SessionExport:
        with self.engine.connect() as db:
            row = self._row(db, session_id)
            sid = row["id"]
            turn_rows = db.execute(sa.select(turns).where(turns.c.session_id == sid).order_by(turns.c.idx)).mappings().all()
            trajectory = db.execute(sa.select(appraisals.c.data).where(appraisals.c.session_id == sid)
                                    .order_by(appraisals.c.turn_idx)).scalars().all()
            cards = db.execute(sa.select(scorecards.c.source, scorecards.c.data, scorecards.c.created_at)
                               .where(scorecards.c.session_id == sid).order_by(scorecards.c.id)).mappings().all()
            remembered = db.execute(sa.select(memories).where(memories.c.session_id == sid)).mappings().all()
        meta = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "persona"}
        return SessionExport(
            persona=row["persona_id"],
            turns=[Turn(speaker=Speaker(t["speaker"]), text=t["text"], at=_aware(t["at"])) for t in turn_rows],
            session=meta, persona_spec=row["persona"], trajectory=list(trajectory),
            scorecards=[{"source": c["source"], "data": c["data"], "created_at": _aware(c["created_at"]).isoformat()} for c in cards],
            memories=[{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in m.items()} for m in remembered],
        )

    def import_(self, export: SessionExport, *, replace: bool = False) -> str:
        """Store an exported session (same id); refuse to overwrite an existing one unless `replace`."""
        sid = export.session["id"]
        with self.engine.begin() as db:
            if db.execute(sa.select(sessions.c.id).where(sessions.c.id == sid)).first():
                if not replace:
                    raise RapportError(f"session {sid} is already stored; use --force to replace it")
                db.execute(sa.delete(sessions).where(sessions.c.id == sid))
            meta = dict(export.session)
            for key in ("started_at", "updated_at", "ended_at"):
                meta[key] = datetime.fromisoformat(meta[key]) if meta.get(key) else None
            db.execute(sessions.insert().values(**meta, persona=export.persona_spec))
            for index, turn in enumerate(export.turns):
                db.execute(turns.insert().values(session_id=sid, idx=index, speaker=turn.speaker.value, text=turn.text,
                                                 at=turn.at))
            for data in export.trajectory:
                db.execute(appraisals.insert().values(session_id=sid, turn_idx=data["turn"], data=data))
            for card in export.scorecards:
                db.execute(scorecards.insert().values(session_id=sid, source=card["source"], data=card["data"],
                                                      created_at=datetime.fromisoformat(card["created_at"])))
            for memory in export.memories:
                db.execute(memories.insert().values(**{**memory, "created_at": datetime.fromisoformat(memory["created_at"])}))
        return sid

    def delete(self, session_id: str) -> str:
        with self.engine.begin() as db:
            sid = self._row(db, session_id)["id"]
            for table, column in ((memories, memories.c.session_id), (scorecards, scorecards.c.session_id),
                                  (appraisals, appraisals.c.session_id), (turns, turns.c.session_id)):
                db.execute(sa.delete(table).where(column == sid))
            db.execute(sa.delete(sessions).where(sessions.c.id == sid))
        return sid

    def scorecards(self, session_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            sid = self._row(db, session_id)["id"]
            return list(db.execute(sa.select(scorecards.c.data).where(scorecards.c.session_id == sid)
                                   .order_by(scorecards.c.id)).scalars().all())


def _aware(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything here is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class SessionRecorder:
    """A session listener that commits every change to the store as it happens."""

    def __init__(self, store: SessionStore, learner_id: str):
        self.store = store
        self.learner_id = learner_id

    def turn_added(self, session: Session, index: int) -> None:
        self.store.save_turn(session, index)

    def turns_removed(self, session: Session, first_removed: int) -> None:
        self.store.truncate(session, first_removed)

    def ended(self, session: Session) -> None:
        self.store.save_ending(session)
