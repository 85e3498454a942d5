"""What every tab shares: the persona library, the default persona model, the practice service, and who is asking."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import gradio as gr

from evals.grading import Grader
from evals.practice import Practice, default_learner
from simulator.config import ModelSpec
from simulator.models import build_chat_model
from simulator.persona import PersonaLibrary
from simulator.session import Session

from .persona_model import PersonaModel
from .scorecard_view import download_files, scorecard_html


class LibraryHolder:
    """The persona library shared by every browser session; re-read after the studio saves a persona."""

    def __init__(self, library: PersonaLibrary):
        self.library = library

    def refresh(self) -> PersonaLibrary:
        self.library = PersonaLibrary(self.library.sources)
        return self.library


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

    def model_for(self, choice: ModelSpec | None):
        """(spec, model) for the persona: the browser's own choice from Settings, else the default."""
        if choice is None:
            return self.persona_model.spec, self.persona_model.model
        key = choice.model_dump_json(exclude={"source"})
        with self._lock:
            if key not in self._models:
                self._models[key] = (choice, build_chat_model(choice, "persona"))
            return self._models[key]

    def grader_for(self, choice: ModelSpec | None) -> Grader:
        """The grader with the browser's judge choice (one per choice, so models load once)."""
        key = choice.model_dump_json(exclude={"source"}) if choice else ""
        with self._lock:
            if key not in self._graders:
                self._graders[key] = Grader(judge_spec=choice) if choice else self.practice.grader
            return self._graders[key]

    async def finish(self, session: Session, request: gr.Request | None):
        """Remember, grade and store an ended session; the scorecard HTML and the files to download."""
        graded = getattr(session, "graded", None)
        if graded is None:
            graded = await self.practice.finish(session, self.grader_for(getattr(session, "judge_choice", None)))
            session.graded = graded
        return scorecard_html(session, graded), download_files(session, graded)
