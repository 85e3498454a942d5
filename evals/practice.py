"""A practice session from start to scorecard, as both shells run it: stored as it happens, remembered, graded."""

from __future__ import annotations

import logging
import os

from langchain_core.language_models import BaseChatModel

from simulator.config import ModelSpec
from simulator.errors import RapportError
from simulator.persona.spec import PersonaSpec
from simulator.recollection import Recall, remember, stored_memories
from simulator.session import Session
from simulator.store import DEFAULT_LEARNER, SessionStore

from .grading import Graded, Grader

log = logging.getLogger(__name__)


def default_learner() -> str:
    """The learner's name for history and memory (RAPPORT_LEARNER, default 'local')."""
    return os.environ.get("RAPPORT_LEARNER") or DEFAULT_LEARNER


class Practice:
    """Starts, resumes and finishes sessions for one learner, against one store and one grader."""

    def __init__(self, store: SessionStore | None = None, grader: Grader | None = None):
        self.store = store or SessionStore()
        self._grader = grader

    @property
    def grader(self) -> Grader:
        if self._grader is None:
            self._grader = Grader()
        return self._grader

    def start(self, persona: PersonaSpec, model: BaseChatModel, *, learner: str, difficulty: str = "medium",
              model_spec: ModelSpec | None = None, max_turns: int = 40) -> Session:
        session = Session(persona, model, difficulty=difficulty, model_spec=model_spec, max_turns=max_turns)
        self._attach(session, learner)
        return session

    def resume(self, session_id: str, model: BaseChatModel, *, learner: str, model_spec: ModelSpec | None = None) -> Session:
        session = self.store.load(session_id, model, model_spec, learner_id=learner)
        self._attach(session, learner)
        return session

    def _attach(self, session: Session, learner: str) -> None:
        self.store.record(session, learner)
        session.learner_id = learner
        session.memory = Recall(self.store, learner, session.persona.id, session.id)

    def remembered(self, session: Session) -> int:
        """How many memories of earlier sessions the persona brings to this one."""
        return len(session.memory.items) if isinstance(session.memory, Recall) else 0

    async def finish(self, session: Session, grader: Grader | None = None) -> Graded:
        """Remember what matters, grade the session (offline, and the judge when configured), store the scores."""
        learner = getattr(session, "learner_id", default_learner())
        try:
            remember(session, learner, self.store)
        except RapportError as exc:
            log.warning("memories not stored: %s", exc)
        earlier = stored_memories(self.store, learner, session.persona.id, before_session=session.id)
        graded = await (grader or self.grader).grade(session.transcript(), session.persona,
                                                     appraisals=session.trajectory, memories=earlier)
        self.store.save_scorecard(session.id, graded.scorecard.source, graded.scorecard.contract(), learner_id=learner)
        if graded.offline is not graded.scorecard:
            self.store.save_scorecard(session.id, "offline", graded.offline.contract(), learner_id=learner)
        return graded
