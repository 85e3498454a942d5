"""The judge: a separate model (role `judge`) grades a transcript against the rubric, with checked evidence."""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel

from simulator.config import ModelSpec, Role
from simulator.errors import ModelError, RapportError
from simulator.models.structured import WrongShapeError, ask_structured
from simulator.persona.spec import PersonaSpec
from simulator.transcript import Speaker, Transcript

from .grader_directed import grader_directed_flag
from .judge_prompt import MAX_IMPROVEMENTS, judge_messages, judge_output_model
from .quotes import verify_evidence
from .rubric import Rubric
from .scorecard import CriterionScore, Evidence, Improvement, Scorecard, weighted_overall

ATTEMPTS = 3  # a malformed answer is asked for again twice, then reported
DISAGREEMENT = 2.0  # judge and offline scores this far apart are flagged for review


class JudgeError(RapportError):
    """The judge model failed or kept answering in the wrong shape."""


@dataclass
class Judge:
    """A judge model with its rubric; `grade` returns a scorecard whose every quote is in the transcript."""

    model: BaseChatModel
    spec: ModelSpec | None
    rubric: Rubric

    async def _one_sample(self, transcript: Transcript, persona: PersonaSpec | None, trajectory: str,
                          memories: str) -> BaseModel:
        output_model = judge_output_model(self.rubric)
        schema = output_model.model_json_schema()
        messages = judge_messages(self.rubric, transcript, persona, schema, trajectory, memories, self.exemplars(transcript))
        try:
            return await ask_structured(self.model, self.spec, messages, output_model, attempts=ATTEMPTS,
                                        role=Role.JUDGE, name="scorecard")
        except ModelError as exc:
            raise JudgeError(str(exc)) from exc
        except WrongShapeError as exc:
            name = self.spec.label if self.spec else "the judge model"
            raise JudgeError(f"{name} {exc}") from None

    async def grade(
        self, transcript: Transcript, persona: PersonaSpec | None = None, *, samples: int = 1, trajectory: str = "",
        memories: list | None = None,
    ) -> Scorecard:
        """Grade `transcript` `samples` times; scores are the mean, `spread` their standard deviation."""
        remembered = "\n".join(f"- {m.text}" for m in memories or [])
        results = await asyncio.gather(
            *(self._one_sample(transcript, persona, trajectory, remembered) for _ in range(samples))
        )
        return merge_samples(results, self.rubric, transcript)

    def exemplars(self, transcript: Transcript) -> str:
        """Annotated example turns similar to this learner's, to ground the scores (empty if unavailable)."""
        try:
            from .exemplars import ExemplarIndex, exemplars_text

            learner = [t.text for t in transcript.turns if t.speaker is Speaker.LEARNER]
            return exemplars_text(ExemplarIndex().retrieve(learner, k=4)) if learner else ""
        except (ImportError, RapportError):
            return ""


def merge_samples(results: list[BaseModel], rubric: Rubric, transcript: Transcript) -> Scorecard:
    """One scorecard from N judge answers, with every quote checked against the transcript."""
    flags: list[str] = []
    criteria: dict[str, CriterionScore] = {}
    for criterion in rubric.criteria:
        answers = [getattr(r, criterion.id) for r in results]
        scores = [a.score for a in answers]
        mean = statistics.fmean(scores)
        closest = min(answers, key=lambda a: abs(a.score - mean))  # its rationale and evidence represent the mean
        evidence, dropped = verify_evidence([Evidence(turn=e.turn, quote=e.quote) for e in closest.evidence], transcript)
        flags.extend(f"{criterion.id}: {message}" for message in dropped)
        criteria[criterion.id] = CriterionScore(
            score=mean, rationale=closest.rationale, evidence=evidence,
            spread=statistics.pstdev(scores) if len(results) > 1 else None,
        )
    first = results[0]
    improvements, dropped = _checked_improvements(first.improvements, transcript)
    flags.extend(dropped)
    flags = _reported_grader_directed(results, transcript) + flags
    overall = weighted_overall({k: v.score for k, v in criteria.items()}, rubric)
    return Scorecard(criteria=criteria, overall=overall, strengths=list(first.strengths), improvements=improvements,
                     flags=flags, summary=first.summary, source="judge", samples=len(results))


def _checked_improvements(items, transcript: Transcript) -> tuple[list[Improvement], list[str]]:
    """Keep improvements that point at a real learner turn; `original` is always that turn's exact text."""
    kept, dropped = [], []
    for item in items[:MAX_IMPROVEMENTS]:
        turns = transcript.turns
        if 0 <= item.turn < len(turns) and turns[item.turn].speaker is Speaker.LEARNER:
            kept.append(Improvement(turn=item.turn, original=turns[item.turn].text, better=item.better, why=item.why,
                                    written_by="judge"))
        else:
            dropped.append(f"dropped an improvement pointing at turn {item.turn}, which is not a learner turn")
    return kept, dropped


def _reported_grader_directed(results: list[BaseModel], transcript: Transcript) -> list[str]:
    """Flags for the learner text the judge reports as addressed to the grader (quotes checked, one per turn)."""
    reported: dict[int, str] = {}
    for result in results:
        items = [Evidence(turn=e.turn, quote=e.quote) for e in getattr(result, "grader_directed", None) or []]
        kept, _ = verify_evidence(items, transcript)
        for item in kept:
            if transcript.turns[item.turn].speaker is Speaker.LEARNER and item.quote.strip():
                reported.setdefault(item.turn, item.quote)
    return [grader_directed_flag(turn, quote, reported_by_judge=True) for turn, quote in sorted(reported.items())]


def cross_check(judged: Scorecard, offline: Scorecard) -> list[str]:
    """Flags where the judge and the offline coder disagree by two points or more."""
    flags = []
    for key, score in judged.criteria.items():
        other = offline.criteria.get(key)
        if other is not None and abs(score.score - other.score) >= DISAGREEMENT:
            flags.append(
                f"{key}: the judge ({score.score:.1f}) and the offline coder ({other.score:.1f}) disagree by"
                f" {abs(score.score - other.score):.1f} points; check the evidence"
            )
    return flags
