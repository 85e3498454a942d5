"""What a persona remembers of a learner: salient facts, commitments and open questions, across sessions.

At the end of a session the memorable things are picked out without an LLM (commitments the learner made,
what they shared about themselves, what the persona confided, how it ended) and stored per (learner,
persona). The next session recalls the relevant ones, so the persona can say "last time you said you'd
send the pricing…" and the consistency criterion can check the learner followed up.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime

import sqlalchemy as sa

from .behaviours import Behaviour
from .cues import content_words
from .errors import RapportError
from .record import SessionRecord
from .session import Session
from .transcript import Speaker, Turn

log = logging.getLogger(__name__)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_COMMITMENT = re.compile(
    r"\b(i'll|i will|i'm going to|i am going to|let me|we'll|we will|i promise to|i can)\b[^.?!]{0,80}\b(send|check|"
    r"call|email|set up|book|bring|come back|follow up|find out|look into|get back|arrange|share|sort out|talk to|"
    r"speak to|ask|write|put together|prepare)\b",
    re.IGNORECASE,
)
_FOLLOW_UP = re.compile(r"\b(last time|as (i )?promised|i said i would|like i said|as i said|you (mentioned|said) last)\b", re.I)
RECALL_PER_TURN = 4


def _id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def memorable(session: Session | SessionRecord, learner_id: str):
    """The MemoryItems worth keeping from a finished session (live or as stored: both read the same)."""
    from .vectors.memory import MemoryItem

    now = datetime.now(UTC)
    label = session.persona.scenario.learner_label
    items: list[MemoryItem] = []

    def keep(kind: str, text: str) -> None:
        items.append(MemoryItem(id=_id(session.id, kind, text), learner_id=learner_id, persona_id=session.persona.id,
                                session_id=session.id, kind=kind, text=text, created_at=now))

    for turn in session.turns:
        if turn.speaker is not Speaker.LEARNER:
            continue
        for sentence in _SENTENCE.split(turn.text):
            if _COMMITMENT.search(sentence):
                keep("commitment", f"{label} promised: “{sentence.strip()}”")
    for appraisal in session.trajectory:
        for signal in appraisal.reading.signals:
            if signal.behaviour is Behaviour.SELF_DISCLOSURE:
                sentence = next((s for s in _SENTENCE.split(appraisal.text) if signal.evidence.strip() in s), appraisal.text)
                keep("fact", f"{label} shared: “{sentence.strip()}”")
    contents = {item.id: item.content for item in session.persona.hidden_information}
    for item_id in session.unlocked:
        keep("disclosure", f"You confided in them: {contents[item_id]}")
    if session.ending is not None:
        date = session.started_at.strftime("%d %B %Y")
        keep("fact", f"Your conversation on {date} ended this way: {session.ending.detail}.")
        if session.ending.outcome != "success":
            keep("open_question", f"Still open from last time: {session.persona.outcomes.success.description.lower()}.")
    return items


def remember(session: Session | SessionRecord, learner_id: str, store) -> list:
    """Store what is memorable from `session` (SQL first; the vector index is rebuilt from it when needed)."""
    from .store.tables import memories, sessions

    items = memorable(session, learner_id)
    with store.engine.begin() as db:
        owned = sa.select(sessions.c.id).where(sessions.c.id == session.id, sessions.c.learner_id == learner_id)
        if db.execute(owned).first() is None:  # memories attach only to the learner's own stored session
            raise RapportError(f"session {session.id} is not stored for learner '{learner_id}'")
        db.execute(sa.delete(memories).where(memories.c.session_id == session.id, memories.c.learner_id == learner_id))
        for item in items:
            db.execute(memories.insert().values(**item.model_dump()))
    try:
        from .vectors.memory import MemoryIndex

        index = MemoryIndex(source=lambda: all_memories(store))
        index.forget(learner_id=learner_id, session_id=session.id)
        index.add(items)
    except RapportError as exc:  # the index is derived data: a later recall rebuilds it
        log.warning("memory index not updated: %s", exc)
    return items


def all_memories(store) -> list:
    """Every stored memory (to rebuild the vector index)."""
    from .store.tables import memories
    from .vectors.memory import MemoryItem

    with store.engine.connect() as db:
        return [MemoryItem.model_validate(dict(row)) for row in db.execute(sa.select(memories)).mappings().all()]


def stored_memories(store, learner_id: str, persona_id: str, before_session: str | None = None,
                    only_sessions: list[str] | None = None) -> list:
    """Every memory of this learner with this persona, oldest first (from SQL, the source of truth); with
    `only_sessions`, only those from these sessions."""
    from .store.tables import memories
    from .vectors.memory import MemoryItem

    query = sa.select(memories).where(memories.c.learner_id == learner_id, memories.c.persona_id == persona_id)
    if before_session is not None:
        query = query.where(memories.c.session_id != before_session)
    if only_sessions is not None:
        query = query.where(memories.c.session_id.in_(only_sessions))
    with store.engine.connect() as db:
        rows = db.execute(query.order_by(memories.c.created_at)).mappings().all()
    return [MemoryItem.model_validate({**row, "created_at": row["created_at"]}) for row in rows]


class Recall:
    """Recall for one session: the memories most relevant to the conversation so far (vector search, else recency)."""

    def __init__(self, store, learner_id: str, persona_id: str, session_id: str, only_sessions: list[str] | None = None):
        """`only_sessions`: recall only what these sessions left (an assigned attempt remembers earlier attempts at
        the same assignment, never the learner's own practice, which its trainer would otherwise read about)."""
        self.only_sessions = only_sessions
        self.items = stored_memories(store, learner_id, persona_id, before_session=session_id,
                                     only_sessions=only_sessions)
        self.learner_id, self.persona_id = learner_id, persona_id
        self._index = None
        if self.items and only_sessions is None:  # (the index searches all of them: a few recent ones do here)
            try:
                from .vectors.memory import MemoryIndex

                # The SQL store is the source of truth: a missing or rebuilt index is refilled from it.
                self._index = MemoryIndex(source=lambda: all_memories(store))
                self._index.add(self.items)
            except RapportError as exc:
                log.warning("memory search unavailable, recalling the most recent instead: %s", exc)
                self._index = None

    def __call__(self, turns: list[Turn]) -> list[str]:
        if not self.items:
            return []
        query = " ".join(t.text for t in turns[-2:])
        if self._index is not None:
            try:
                found = self._index.retrieve(self.learner_id, self.persona_id, query, k=RECALL_PER_TURN)
                return [item.text for item in found]
            except RapportError as exc:
                log.warning("memory search failed, recalling the most recent instead: %s", exc)
        return [item.text for item in self.items[-RECALL_PER_TURN:]]


def followed_up(commitment: str, learner_turns: list[str]) -> int | None:
    """Index in `learner_turns` of the first turn that comes back to `commitment`, if any."""
    promised = content_words(commitment)
    for index, text in enumerate(learner_turns):
        if _FOLLOW_UP.search(text) and promised & content_words(text) or len(promised & content_words(text)) >= 3:
            return index
    return None
