"""Grade a transcript the way every shell does: the judge when one is configured, the offline scorecard always."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from simulator.aio import run_cpu_bound
from simulator.config import ModelSpec, Role, resolve_model_spec
from simulator.errors import PersonaNotFoundError
from simulator.models import build_chat_model
from simulator.persona import PersonaLibrary
from simulator.persona.spec import PersonaSpec
from simulator.signals import TurnReader
from simulator.transcript import Transcript

from .grader_directed import clamp_to_offline, flag_grader_directed
from .judge import Judge, cross_check
from .model_rewrites import ModelRewriter
from .offline import offline_scorecard
from .rubric import Rubric, load_rubric
from .scorecard import Scorecard

NO_JUDGE_NOTE = "no judge model is configured (set RAPPORT_JUDGE_MODEL): this is the offline scorecard"


@dataclass
class Graded:
    """The scorecard to show, and the offline one beside it (they are the same object offline)."""

    scorecard: Scorecard
    offline: Scorecard


class Grader:
    """Loads the judge model and the coder once, then grades any number of transcripts."""

    def __init__(self, *, offline_only: bool = False, judge_spec: ModelSpec | str | None = None,
                 rubric: str | None = None, library: PersonaLibrary | None = None, samples: int = 1,
                 judge_model: BaseChatModel | None = None, no_judge_note: str | None = NO_JUDGE_NOTE,
                 rewriter: ModelRewriter | None = None):
        """`judge_model` is used as given (with `judge_spec` its `ModelSpec`); otherwise the judge is built from
        `judge_spec` or the configuration, unless `offline_only`. `no_judge_note` flags an offline-only scorecard.
        `rewriter` (evals.model_rewrites: the local instruction-tuned model) writes the offline card's rewrites
        when no judge does; without it, and for a `grade` given none, the rules write them."""
        self.library = library or PersonaLibrary()
        self.rewriter = rewriter
        self.rubric_id = rubric
        self.samples = samples
        self.no_judge_note = no_judge_note
        self.reader = TurnReader()
        if offline_only:
            self.judge_spec, self.judge_model = None, None
        elif judge_model is not None:
            self.judge_spec, self.judge_model = judge_spec, judge_model
        else:
            self.judge_spec = resolve_model_spec(Role.JUDGE, judge_spec)
            self.judge_model = build_chat_model(self.judge_spec, Role.JUDGE) if self.judge_spec else None

    def persona_for(self, transcript: Transcript) -> tuple[PersonaSpec | None, list[str]]:
        if transcript.persona is None:
            return None, []
        try:
            return self.library.get(transcript.persona), []
        except PersonaNotFoundError:
            return None, [f"persona '{transcript.persona}' is not installed here; graded without it"]

    def rubric_for(self, persona: PersonaSpec | None) -> Rubric:
        return load_rubric(self.rubric_id or (persona.rubric if persona and persona.rubric else "default"))

    async def grade(self, transcript: Transcript, persona: PersonaSpec | None = None, *,
                    appraisals: list | None = None, memories: list | None = None,
                    rewriter: ModelRewriter | None = None) -> Graded:
        """Grade `transcript`; `appraisals` from a live session save reading it again, `memories` are earlier
        sessions'; `rewriter` (the persona model in use, when local) writes the offline rewrites, not the grader's."""
        flags: list[str] = []
        if persona is None:
            persona, flags = self.persona_for(transcript)
        rubric = self.rubric_for(persona)
        if appraisals and not any(a.reading.codes for a in appraisals):
            appraisals = None  # read live by phrase rules only: scores always come from the coder's reading
        # The judge writes the rewrites shown beside its scores; the offline card's are not shown, so not worth the
        # local model's time (a few seconds a turn, with the persona's model lock held).
        rewriter = None if self.judge_model is not None else rewriter or self.rewriter
        # The coder (and the local model) are CPU work: off the event loop, so other sessions keep talking meanwhile.
        offline = await run_cpu_bound(offline_scorecard, transcript, rubric, persona, self.reader, appraisals, memories,
                                      rewriter)
        offline = flag_grader_directed(offline, transcript)  # learner text said to the grader is named
        offline.flags = flags + offline.flags
        if self.judge_model is None:
            if self.no_judge_note:
                offline.flags.append(self.no_judge_note)
            return Graded(offline, offline)
        judge = Judge(self.judge_model, self.judge_spec, rubric)
        judged = await judge.grade(transcript, persona, samples=self.samples, memories=memories)
        judged = clamp_to_offline(judged, offline, transcript, rubric)  # never above the coder when addressed to it
        judged.flags = flags + judged.flags + cross_check(judged, offline)
        return Graded(judged, offline)
