"""A practice session from start to scorecard, as both shells run it: stored as it happens, remembered, graded."""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from langchain_core.language_models import BaseChatModel

from evals.grading import Graded, Grader
from evals.model_rewrites import rewriter_for
from simulator.config import ModelSpec
from simulator.errors import RapportError
from simulator.persona.spec import PersonaSpec
from simulator.recollection import Recall, remember, stored_memories
from simulator.record import new_session_id
from simulator.session import Session
from simulator.store import Assignment, SessionStore, TeamStore, Viewer

log = logging.getLogger(__name__)


@dataclass
class RunState:
    """What the app decided about one live session. Kept apart from the session so that the service's map from
    sessions to their state does not keep sessions alive (a value that refers to its weak key never goes)."""

    learner: str
    recall: Recall
    judge_choice: ModelSpec | str | None = None  # the judge chosen in the app: a spec, "offline", or None (default)
    graded: Graded | None = None  # set once the ended session is graded
    grading: asyncio.Future | None = None  # the grading in progress: a second End waits for it, never grades again
    assignment: Assignment | None = None  # what this session attempts, when it is an assigned attempt


@dataclass
class PracticeRun:
    """One learner's practice session as the app sees it: the live session and what the app decided about it."""

    session: Session
    state: RunState

    @property
    def learner(self) -> str:
        return self.state.learner

    @property
    def recall(self) -> Recall:
        return self.state.recall

    @property
    def judge_choice(self) -> ModelSpec | str | None:
        return self.state.judge_choice

    @property
    def graded(self) -> Graded | None:
        return self.state.graded

    @property
    def assignment(self) -> Assignment | None:
        return self.state.assignment

    @property
    def remembered(self) -> int:
        """How many memories of earlier sessions the persona brings to this one."""
        return len(self.state.recall.items)


class Practice:
    """Starts, resumes and finishes sessions for one learner, against one store and one grader."""

    def __init__(self, store: SessionStore | None = None, grader: Grader | None = None):
        self.store = store or SessionStore()
        self.teams = TeamStore(sessions_store=self.store)
        self._grader = grader
        # The run of each live session, for shells that hold only the session (a gradio chat panel's state).
        self._runs: WeakKeyDictionary[Session, RunState] = WeakKeyDictionary()
        self._lock = threading.Lock()

    @property
    def grader(self) -> Grader:
        if self._grader is None:
            self._grader = Grader()
        return self._grader

    def start(self, persona: PersonaSpec, model: BaseChatModel, *, learner: str, difficulty: str = "medium",
              model_spec: ModelSpec | None = None, max_turns: int = 40,
              judge_choice: ModelSpec | str | None = None, assignment: str | None = None,
              viewer: Viewer | None = None) -> PracticeRun:
        """A new session; with `assignment`, an attempt at it by `viewer` (a learner in its cohort), played with the
        assignment's persona at its difficulty, refused in one line when no attempt is left."""
        earlier, assigned = None, None
        if assignment is not None:
            viewer = viewer or Viewer(name=learner, role="learner")
            assigned = self.teams.check_attempt(assignment, viewer)
            if persona.id != assigned.persona_id:
                raise RapportError(f"'{assigned.title}' is practised with {assigned.persona_id}, not {persona.id}")
            difficulty = assigned.difficulty.value
            earlier = [a.session_id for a in self.teams.my_attempts(viewer) if a.assignment_id == assigned.id]
        session_id = new_session_id()
        recall = Recall(self.store, learner, persona.id, session_id, only_sessions=earlier)
        session = Session(persona, model, difficulty=difficulty, model_spec=model_spec, max_turns=max_turns,
                          session_id=session_id, memory=recall)
        session.assessed = assignment is not None
        run = self._attach(session, learner, recall, judge_choice, assigned)
        if assignment is not None:
            try:
                self.teams.record_attempt(assignment, session_id, viewer)
            except Exception as exc:  # refused, or the database failed: no stray session either way
                self.store.delete(session_id, learner_id=learner)
                if isinstance(exc, RapportError):
                    raise
                raise RapportError(f"the attempt could not be recorded ({type(exc).__name__}); try again") from exc
        return run

    def resume(self, session_id: str, model: BaseChatModel, *, learner: str, model_spec: ModelSpec | None = None,
               judge_choice: ModelSpec | str | None = None) -> PracticeRun:
        record = self.store.load_record(session_id, learner_id=learner)
        assigned, earlier = self._assessed(record.id, learner)
        recall = Recall(self.store, learner, record.persona.id, record.id, only_sessions=earlier)
        session = Session.from_record(record, model, model_spec=model_spec, memory=recall)
        session.assessed = assigned is not None
        return self._attach(session, learner, recall, judge_choice, assigned)

    def is_attempt(self, session_id: str, learner: str) -> bool:
        """Whether this learner's session (its id or a unique prefix) is an attempt at an assignment."""
        full = self.store.summary(session_id, learner_id=learner).id
        return self._assessed(full, learner)[0] is not None

    def _assessed(self, session_id: str, learner: str) -> tuple[Assignment | None, list[str] | None]:
        """For an assigned attempt, its assignment and the learner's other attempts at it (what it may remember);
        (None, None) for the learner's own practice (it remembers everything)."""
        viewer = Viewer(name=learner, role="learner")
        found = self.teams.attempt(session_id, viewer)
        if found is None:
            return None, None
        assigned, this = found
        return assigned, [a.session_id for a in self.teams.my_attempts(viewer)
                          if a.assignment_id == assigned.id and a.started_at < this.started_at]

    def _attach(self, session: Session, learner: str, recall: Recall, judge_choice: ModelSpec | str | None,
                assignment: Assignment | None = None) -> PracticeRun:
        self.store.record(session, learner)
        state = RunState(learner, recall, judge_choice, assignment=assignment)
        with self._lock:
            self._runs[session] = state
        return PracticeRun(session, state)

    def run_of(self, session: Session) -> PracticeRun | None:
        """The practice run a live session belongs to (None: a session this service did not start)."""
        with self._lock:
            state = self._runs.get(session)
        return PracticeRun(session, state) if state is not None else None

    def keep_recording(self, session: Session, index: int, wav: bytes) -> None:
        """Store the learner's recording of a spoken turn, as that learner (they chose to keep recordings)."""
        run = self.run_of(session)
        if run is None:
            raise RapportError("this conversation is not stored, so its recordings cannot be kept")
        self.store.keep_audio(session.id, index, wav, learner_id=run.learner)

    async def finish(self, run: PracticeRun, grader: Grader | None = None) -> Graded:
        """Remember what matters, grade the session (offline, and the judge when configured), store the scores.

        The store and the memory index are written off the event loop; the grader keeps its own CPU work off it.
        Graded once: a second call while grading runs (End clicked twice) waits for the same result."""
        state = run.state
        if state.graded is not None:
            return state.graded
        if state.grading is None:
            state.grading = asyncio.ensure_future(self._grade(run.session, state, grader))
        return await asyncio.shield(state.grading)

    async def _grade(self, session: Session, state: RunState, grader: Grader | None) -> Graded:
        try:
            earlier = await asyncio.to_thread(self._remember, session, state.learner, state.recall.only_sessions)
            # A local instruction-tuned persona model is loaded already: it may write the offline card's rewrites.
            graded = await (grader or self.grader).grade(session.transcript(), session.persona,
                                                         appraisals=session.trajectory, memories=earlier,
                                                         rewriter=rewriter_for(session.model_spec, session.model))
            await asyncio.to_thread(self._save, session.id, graded, state.learner)
        except BaseException:
            state.grading = None  # a failed grading may be tried again
            raise
        state.graded = graded
        return graded

    def _remember(self, session: Session, learner: str, only_sessions: list[str] | None) -> list:
        """Store what this session leaves to remember; the earlier memories it is graded against (consistency)."""
        try:
            remember(session, learner, self.store)
        except RapportError as exc:
            log.warning("memories not stored: %s", exc)
        return stored_memories(self.store, learner, session.persona.id, before_session=session.id,
                               only_sessions=only_sessions)

    def _save(self, session_id: str, graded: Graded, learner: str) -> None:
        self.store.save_scorecard(session_id, graded.scorecard.source, graded.scorecard.contract(), learner_id=learner)
        if graded.offline is not graded.scorecard:
            self.store.save_scorecard(session_id, "offline", graded.offline.contract(), learner_id=learner)
