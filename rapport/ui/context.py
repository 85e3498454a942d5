"""What every tab shares: the persona library, the default persona model, the practice service, and who is asking."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import gradio as gr

from evals.grading import Grader
from rapport.service import Practice, default_learner
from rapport.service.cohorts import attempt_verdict
from simulator.config import ModelSpec
from simulator.models import build_chat_model
from simulator.paths import learner_personas_dir
from simulator.persona import PersonaLibrary
from simulator.persona.library import Origin, files_stamp
from simulator.session import Session
from simulator.store import Viewer

from .auth import Role, role_of
from .persona_model import PersonaModel
from .scorecard_view import download_files, review_html, scorecard_html


class LibraryHolder:
    """The shared persona library (bundled, shared, RAPPORT_PERSONAS) and each logged-in learner's view of it
    with their own personas added; re-read after the studio saves a persona, and whenever the persona files
    changed on disk, so a persona saved through another app process (several behind one address) shows here too."""

    MAX_VIEWS = 256  # learners' views kept in memory; the least recently used is rebuilt when needed

    def __init__(self, library: PersonaLibrary):
        self._library = library
        self._stamp = files_stamp(library.sources)
        self._views: OrderedDict[str, tuple[object, PersonaLibrary]] = OrderedDict()  # learner -> (stamp, view)
        self._lock = threading.Lock()

    @property
    def library(self) -> PersonaLibrary:
        """The shared personas as the files are now."""
        with self._lock:
            return self._current()

    def _current(self) -> PersonaLibrary:
        stamp = files_stamp(self._library.sources)  # a few stat calls: cheap enough for every request
        if stamp != self._stamp:
            self._reload(stamp)
        return self._library

    def _reload(self, stamp: object) -> None:
        self._library, self._stamp = PersonaLibrary(self._library.sources), stamp
        self._views.clear()

    def refresh(self, learner: str | None = None) -> PersonaLibrary:
        """Re-read after a save: one learner's own personas, or (None) the shared ones and so every view."""
        with self._lock:
            if learner is not None:
                self._views.pop(learner, None)
                return self._current()
            self._reload(files_stamp(self._library.sources))
            return self._library

    def for_learner(self, learner: str | None) -> PersonaLibrary:
        """What one logged-in learner can pick: shared personas plus their own. None (no login): the shared ones."""
        with self._lock:
            library = self._current()
            if learner is None:
                return library
            folder = learner_personas_dir(learner)
            stamp = files_stamp([(folder, Origin.OWN)])
            kept = self._views.pop(learner, None)
            if kept is None or kept[0] != stamp:
                kept = (stamp, library.with_learner(folder))
            self._views[learner] = kept
            while len(self._views) > self.MAX_VIEWS:
                self._views.popitem(last=False)
            return kept[1]

OFFLINE_JUDGE = "offline"  # a judge choice from Settings: grade with the offline coder only


@dataclass
class AppContext:
    holder: LibraryHolder
    persona_model: PersonaModel
    practice: Practice = field(default_factory=Practice)
    _models: dict[str, tuple[ModelSpec, object]] = field(default_factory=dict)
    _graders: dict[str, Grader] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def learner(self, request: gr.Request | None) -> str:
        """The logged-in user, or the machine's learner when there is no login."""
        username = getattr(request, "username", None) if request is not None else None
        return username or default_learner()

    def login(self, request: gr.Request | None) -> str | None:
        """The logged-in user's name, or None when the app runs without a login."""
        return (getattr(request, "username", None) or None) if request is not None else None

    def role(self, request: gr.Request | None) -> Role:
        """The user's role; without a login the one local user keeps full rights, as before roles existed."""
        return role_of(self.login(request))

    def viewer(self, request: gr.Request | None) -> Viewer:
        """Who is asking, as the team store scopes by: their name and role."""
        return Viewer(name=self.learner(request), role=self.role(request))

    def library_for(self, request: gr.Request | None) -> PersonaLibrary:
        """The personas this user may see and pick: never another learner's own."""
        return self.holder.for_learner(self.login(request))

    def model_for(self, choice: ModelSpec | None):
        """(spec, model) for the persona: the browser's own choice from Settings, else the default."""
        if choice is None:
            return self.persona_model.spec, self.persona_model.model
        if choice.user_supplied:  # built per use: a user's key must not outlive their browser session here
            return choice, build_chat_model(choice, "persona")
        key = choice.cache_key
        with self._lock:
            if key not in self._models:
                self._models[key] = (choice, build_chat_model(choice, "persona"))
            return self._models[key]

    def grader_for(self, choice: ModelSpec | str | None) -> Grader:
        """The grader with the browser's judge choice (one per choice, so models load once); OFFLINE_JUDGE: no judge."""
        if choice == OFFLINE_JUDGE:
            key = OFFLINE_JUDGE
        elif isinstance(choice, ModelSpec) and choice.user_supplied:  # not cached: see model_for
            return Grader(judge_spec=choice)
        else:
            key = choice.cache_key if choice else ""
        with self._lock:
            if key not in self._graders:
                if choice == OFFLINE_JUDGE:
                    self._graders[key] = Grader(offline_only=True)
                else:
                    self._graders[key] = Grader(judge_spec=choice) if choice else self.practice.grader
            return self._graders[key]

    async def finish(self, session: Session, request: gr.Request | None):
        """Remember, grade and store an ended session (once); the scorecard HTML and the files to download."""
        run = self.practice.run_of(session)
        if run is None:
            raise gr.Error("This conversation was not started for practice, so it is not graded.")
        graded = run.graded or await self.practice.finish(run, self.grader_for(run.judge_choice))
        verdict = None
        if run.assignment is not None:  # an assigned attempt: passed or not, against its bar, said first
            verdict = await asyncio.to_thread(attempt_verdict, self.practice.teams, session.id,
                                              Viewer(name=run.learner, role=Role.LEARNER), self.holder.library)
        return review_html([], [], verdict) + scorecard_html(session.record, graded), download_files(session.record, graded)
