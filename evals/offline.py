"""The offline scorecard: the seven criteria from the behavioural coder's labels and the rapport trajectory.

No LLM. Each criterion is a weighted blend of per-turn behaviour rates (0-1) mapped to 1-5, with
evidence quoted from the turns that drove it. Custom rubric criteria are scored from their `offline` cues.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from simulator.appraisal import TurnAppraisal, is_scripted_repeat
from simulator.behaviours import BREAKING, Behaviour
from simulator.cues import find
from simulator.recollection import followed_up
from simulator.persona.spec import PersonaSpec
from simulator.replay import appraisals_by_turn, replay_dynamics, replay_readings
from simulator.signals import TurnReader, TurnReading
from simulator.transcript import Speaker, Transcript

from .rewrites import rewrite_turn
from .rubric import Criterion, Rubric
from .scorecard import CriterionScore, Evidence, Improvement, Scorecard, weighted_overall

B = Behaviour
MAX_EVIDENCE = 3


@dataclass
class TurnFacts:
    """What the offline scorecard knows about one learner turn."""

    index: int
    text: str
    context: str
    reading: TurnReading
    appraisal: TurnAppraisal | None
    scripted: bool
    empathy: float | None  # coder 1-5
    uptake: float | None  # coder 0-1
    exploration: int = 0

    def strength(self, behaviour: Behaviour) -> float:
        return self.reading.strength(behaviour)

    @property
    def valence(self) -> float:
        """How the turn landed: the trust change when a persona was simulated, else the signals' balance."""
        if self.appraisal is not None:  # the intended movement, before the 0-100 and per-turn limits
            return sum(c.trust for c in self.appraisal.changes if c.cause != "limit")
        good = sum(s.strength for s in self.reading.signals if s.behaviour not in BREAKING)
        bad = sum(s.strength for s in self.reading.signals if s.behaviour in BREAKING)
        return good - 2 * bad


@dataclass
class Rates:
    turns: list[TurnFacts]
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = max(len(self.turns), 1)

    def count(self, *behaviours: Behaviour) -> float:
        return sum(max(t.strength(b) for b in behaviours) for t in self.turns)

    def rate(self, *behaviours: Behaviour) -> float:
        return self.count(*behaviours) / self.n

    def mean(self, values: list[float | None], default: float) -> float:
        present = [v for v in values if v is not None]
        return statistics.fmean(present) if present else default


def _clip(value: float) -> float:
    return max(0.0, min(1.0, value))


def _score(raw: float) -> float:
    return 1 + 4 * _clip(raw)


def _criterion_raw(criterion_id: str, r: Rates) -> float:
    """0-1 for one of the seven core criteria."""
    # The coder's empathy is calibrated on Reddit peer support, where 2-2.5 is already warm; rescale it.
    empathy = _clip((r.mean([t.empathy for t in r.turns], 1.8) - 1) / 2.5)
    uptake = _clip((r.mean([t.uptake for t in r.turns], 0.4) - 0.3) / 0.5)  # NCTE uptake: 0.8 is strong
    scripted = sum(t.scripted for t in r.turns) / r.n
    landed = sum(t.valence >= 0 for t in r.turns) / r.n
    joint = sum(bool(find("joint_effort", t.text)) for t in r.turns)
    if criterion_id == "empathy":
        feeling = min(1, (r.count(B.VALIDATION) + r.count(B.REFLECTION_COMPLEX)) / r.n * 2)
        exploring = min(1, sum(t.exploration >= 1 for t in r.turns) / r.n * 2)
        return 0.35 * empathy + 0.45 * feeling + 0.2 * exploring - 0.6 * r.rate(B.JUDGMENT) - 0.3 * r.rate(
            B.HOLLOW_FLATTERY) - 0.3 * r.rate(B.IGNORING_CONCERN)
    if criterion_id == "active_listening":
        reflections = min(1, (r.count(B.REFLECTION_COMPLEX) + 0.5 * r.count(B.REFLECTION_SIMPLE)) / r.n * 2.5)
        follow = min(1, r.count(B.FOLLOW_UP) / max(1, r.n / 4))
        return 0.35 * reflections + 0.25 * uptake + 0.25 * min(1, r.rate(B.OPEN_QUESTION) * 1.5) + 0.15 * follow \
            - 0.5 * r.rate(B.IGNORING_CONCERN) - 0.4 * r.rate(B.TOPIC_SHIFT)
    if criterion_id == "authenticity":
        specific = min(1, sum(t.strength(B.AFFIRMATION) >= 0.8 for t in r.turns) / 2)
        return 0.45 + 0.2 * min(1, r.count(B.SELF_DISCLOSURE)) + 0.15 * specific + 0.2 * uptake * landed \
            - 0.5 * r.rate(B.HOLLOW_FLATTERY) - 0.6 * scripted - 0.25 * r.rate(B.JARGON) - 0.3 * r.rate(B.PUSHING_AGENDA)
    if criterion_id == "common_ground":
        return 0.25 + 0.3 * min(1, r.count(B.COMMON_GROUND)) + 0.2 * min(1, joint) + 0.15 * min(1, r.count(B.FOLLOW_UP) / 2) \
            + 0.2 * uptake * landed - 0.45 * r.rate(B.PUSHING_AGENDA) - 0.3 * r.rate(B.TOPIC_SHIFT)
    if criterion_id == "adaptability":
        building = {b for t in r.turns for b in t.reading.behaviours if b not in BREAKING and b is not B.ADAPTATION}
        diversity = min(1, len(building) / 5)
        in_step = sum(t.strength(B.ADAPTATION) > 0 and t.valence >= 0 for t in r.turns) / r.n  # matched and landed
        return 0.35 * in_step + 0.35 * _recovery(r.turns) + 0.3 * diversity \
            - 0.4 * sum("monologue" in s.evidence for t in r.turns for s in t.reading.signals) / r.n
    if criterion_id == "positive_reinforcement":
        specific = sum(t.strength(B.AFFIRMATION) >= 0.8 for t in r.turns)
        return 0.3 + 0.5 * min(1, specific / 2) - 0.5 * r.rate(B.HOLLOW_FLATTERY) - 0.7 * r.rate(B.JUDGMENT)
    if criterion_id == "consistency":
        swings = _swings(r.turns) / r.n
        return 0.45 + 0.3 * landed + 0.25 * min(1, r.count(B.FOLLOW_UP) / 2) - 0.6 * swings - 0.3 * scripted
    raise KeyError(criterion_id)


def _swings(turns: list[TurnFacts]) -> int:
    """How often a turn that landed warmly was followed by a harsh one."""
    return sum(1 for a, b in zip(turns, turns[1:]) if a.valence > 2 and b.valence < -2)


def _recovery(turns: list[TurnFacts]) -> float:
    """After a turn that landed badly, how often the next one repaired it (0.7 when nothing went wrong)."""
    pairs = [(a, b) for a, b in zip(turns, turns[1:]) if a.valence < -2]
    return sum(b.valence > 0 for _, b in pairs) / len(pairs) if pairs else 0.7


def _phrase_hits(criterion: Criterion, turns: list[TurnFacts]) -> list[tuple[TurnFacts, str]]:
    """(turn, the words that matched) for each learner turn that uses one of the criterion's phrases."""
    if criterion.offline is None or not criterion.offline.phrases:
        return []
    pattern = re.compile("|".join(f"(?:{p})" for p in criterion.offline.phrases), re.I)
    return [(t, match.group(0)) for t in turns if (match := pattern.search(t.text))]


def _custom_raw(criterion: Criterion, r: Rates) -> float:
    cues = criterion.offline
    if cues is None:
        return 0.5
    negative = r.rate(*cues.negative) if cues.negative else 0.0
    phrased = len(_phrase_hits(criterion, r.turns)) / r.n
    if cues.positive:
        positive = r.rate(*cues.positive)
        return 0.3 + 0.5 * min(1, positive * 1.5) + 0.3 * min(1, phrased * 3) - 0.6 * negative
    if cues.phrases:  # a criterion only its own wording shows (teach-back): without it, the lowest anchors
        return 0.2 + 0.8 * min(1, phrased * 3) - 0.6 * negative
    return 0.5 - 0.6 * negative


CRITERION_BEHAVIOURS: dict[str, tuple[list[Behaviour], list[Behaviour]]] = {
    "empathy": ([B.VALIDATION, B.REFLECTION_COMPLEX], [B.JUDGMENT, B.HOLLOW_FLATTERY, B.IGNORING_CONCERN]),
    "active_listening": ([B.REFLECTION_COMPLEX, B.REFLECTION_SIMPLE, B.FOLLOW_UP, B.OPEN_QUESTION],
                         [B.IGNORING_CONCERN, B.TOPIC_SHIFT]),
    "authenticity": ([B.SELF_DISCLOSURE, B.AFFIRMATION], [B.HOLLOW_FLATTERY, B.JARGON, B.PUSHING_AGENDA]),
    "common_ground": ([B.COMMON_GROUND, B.FOLLOW_UP], [B.PUSHING_AGENDA, B.TOPIC_SHIFT]),
    "adaptability": ([B.ADAPTATION], [B.PUSHING_AGENDA]),
    "positive_reinforcement": ([B.AFFIRMATION], [B.HOLLOW_FLATTERY, B.JUDGMENT]),
    "consistency": ([B.FOLLOW_UP], [B.JUDGMENT]),
}
LABEL = {b: b.value.replace("_", " ") for b in Behaviour}


def _quote(turn: TurnFacts, behaviour: Behaviour) -> str:
    """The signal's own words when they are in the turn verbatim, else the turn's first sentence."""
    for signal in turn.reading.signals:
        quote = signal.evidence.strip()
        if signal.behaviour is behaviour and quote and quote in turn.text:
            return quote
    first = re.split(r"(?<=[.!?])\s+", turn.text.strip(), maxsplit=1)[0]
    return first


def _evidence_and_rationale(criterion: Criterion, r: Rates, score: float) -> tuple[list[Evidence], str]:
    if criterion.id in CRITERION_BEHAVIOURS:
        good, bad = CRITERION_BEHAVIOURS[criterion.id]
    else:
        good = list(criterion.offline.positive) if criterion.offline else []
        bad = list(criterion.offline.negative) if criterion.offline else []
    found_good = [(t, b) for t in r.turns for b in good if t.strength(b) > 0]
    found_bad = [(t, b) for t in r.turns for b in bad if t.strength(b) > 0]
    phrased = [] if criterion.id in CRITERION_BEHAVIOURS else _phrase_hits(criterion, r.turns)
    quoted_good = [(t, words) for t, words in phrased] + [(t, _quote(t, b)) for t, b in found_good]
    quoted_bad = [(t, _quote(t, b)) for t, b in found_bad]
    ordered = (quoted_bad + quoted_good) if score < 3 else (quoted_good + quoted_bad)
    evidence, used = [], set()
    for turn, quote in ordered:
        if turn.index in used:
            continue
        evidence.append(Evidence(turn=turn.index, quote=quote))
        used.add(turn.index)
        if len(evidence) == MAX_EVIDENCE:
            break
    parts = []
    if phrased:
        turns = [t.index for t, _ in phrased]
        parts.append(f"{criterion.name.lower()} wording in turn{'s' if len(turns) > 1 else ''} {', '.join(map(str, turns))}")
    for behaviour in good:
        turns = [t.index for t, b in found_good if b is behaviour]
        if turns:
            parts.append(f"{LABEL[behaviour]} in turn{'s' if len(turns) > 1 else ''} {', '.join(map(str, turns))}")
    for behaviour in bad:
        turns = [t.index for t, b in found_bad if b is behaviour]
        if turns:
            parts.append(f"but {LABEL[behaviour]} in turn{'s' if len(turns) > 1 else ''} {', '.join(map(str, turns))}")
    if criterion.id == "consistency":  # mostly judged by what did not happen: say so, or a high score reads as odd
        swings = _swings(r.turns)
        parts.insert(0, "tone kept steady (no swing from warm to harsh)" if not swings
                     else f"{swings} swing{'s' if swings > 1 else ''} from warm to harsh")
    rationale = (f"Offline coder, over {r.n} learner turn{'s' if r.n != 1 else ''}: " + "; ".join(parts) + "."
                 if parts else f"Offline coder: little {criterion.name.lower()} behaviour seen in {r.n} learner turns.")
    return evidence, rationale


def _nothing_to_improve(turn: TurnFacts) -> bool:
    """No rapport-breaking behaviour, and already both heard them (reflection or validation) and asked openly:
    the offline rewrite (a reflection and an open question) would only restate the turn."""
    heard = any(turn.strength(b) > 0 for b in (B.REFLECTION_SIMPLE, B.REFLECTION_COMPLEX, B.VALIDATION))
    broke = any(s.behaviour in BREAKING for s in turn.reading.signals)
    return heard and turn.strength(B.OPEN_QUESTION) > 0 and not broke


def _improvements(r: Rates) -> list[Improvement]:
    """Rewrites of the (up to) three weakest learner turns that have something to improve."""
    candidates = [t for t in r.turns if not _nothing_to_improve(t)]
    weakest = sorted(candidates, key=lambda t: t.valence)[:3]
    out = []
    for turn in sorted(weakest, key=lambda t: t.index):
        problems = [s for s in turn.reading.signals if s.behaviour in BREAKING]
        problem = max(problems, key=lambda s: s.strength).behaviour if problems else (
            B.CLOSED_QUESTION if turn.strength(B.CLOSED_QUESTION) else None)
        better, why = rewrite_turn(turn.context, problem)
        out.append(Improvement(turn=turn.index, original=turn.text, better=better, why=why))
    return out


def _strengths(r: Rates) -> list[str]:
    building = [b for b in Behaviour if b not in BREAKING and b is not B.ADAPTATION]
    counts = sorted(((r.count(b), b) for b in building), key=lambda x: -x[0])
    out = []
    for count, behaviour in counts[:3]:
        if count >= 1:
            turns = [str(t.index) for t in r.turns if t.strength(behaviour) > 0]
            out.append(f"{LABEL[behaviour].capitalize()} (turns {', '.join(turns)})")
    return out


def turn_facts(
    transcript: Transcript, persona: PersonaSpec | None, reader: TurnReader,
    appraisals: list[TurnAppraisal] | None = None,
) -> list[TurnFacts]:
    """Read every learner turn, and replay the dynamics when the persona is known (unless already appraised)."""
    if appraisals is not None:
        appraisals = {a.turn: a for a in appraisals}
    else:
        appraisals = appraisals_by_turn(replay_dynamics(transcript, persona, reader)) if persona else {}
    readings = {i: a.reading for i, a in appraisals.items()} or replay_readings(transcript, reader, persona)
    facts, earlier = [], []
    for index, reading in sorted(readings.items()):
        text = transcript.turns[index].text
        context = next((t.text for t in reversed(transcript.turns[:index]) if t.speaker is Speaker.PERSONA), "")
        codes = reading.codes or {}
        facts.append(TurnFacts(
            index=index, text=text, context=context, reading=reading, appraisal=appraisals.get(index),
            scripted=is_scripted_repeat(text, earlier), empathy=codes.get("empathy"), uptake=codes.get("uptake"),
            exploration=codes.get("exploration", 0),
        ))
        earlier.append(text)
    return facts


def commitments_kept(memories: list | None, turns: list[TurnFacts]) -> tuple[list[tuple[str, TurnFacts]], list[str]]:
    """(earlier commitments followed up, with the turn that did; those never mentioned) for this session."""
    promised = [m.text for m in memories or [] if m.kind == "commitment"]
    kept, forgotten = [], []
    for text in promised:
        index = followed_up(text, [t.text for t in turns])
        if index is None:
            forgotten.append(text)
        else:
            kept.append((text, turns[index]))
    return kept, forgotten


def _consistency_across_sessions(criterion: CriterionScore, raw: float, memories, turns) -> tuple[float, CriterionScore]:
    """Following up on what was promised in earlier sessions counts; forgetting it costs."""
    kept, forgotten = commitments_kept(memories, turns)
    if not kept and not forgotten:
        return raw, criterion
    total = len(kept) + len(forgotten)
    raw += 0.35 * len(kept) / total - 0.35 * len(forgotten) / total
    notes = [f"followed up on an earlier promise in turn {t.index}" for _, t in kept]
    notes += [f"did not come back to: {text}" for text in forgotten]
    evidence = [Evidence(turn=t.index, quote=t.text.split(". ")[0].strip()) for _, t in kept] + criterion.evidence
    return raw, criterion.model_copy(update={
        "rationale": criterion.rationale.rstrip(".") + "; across sessions: " + "; ".join(notes) + ".",
        "evidence": evidence[:MAX_EVIDENCE],
    })


def offline_scorecard(
    transcript: Transcript, rubric: Rubric, persona: PersonaSpec | None = None, reader: TurnReader | None = None,
    appraisals: list[TurnAppraisal] | None = None, memories: list | None = None,
) -> Scorecard:
    """Grade `transcript` with no LLM. `appraisals` from a live session save reading the turns again;
    `memories` from earlier sessions with this persona let consistency check the learner's follow-up."""
    facts = turn_facts(transcript, persona, reader or TurnReader(), appraisals)
    flags = []
    if not facts:
        flags.append("the transcript has no learner turns to grade")
    if persona is None:
        flags.append("persona unknown: graded from the learner's turns alone, without the rapport trajectory")
    rates = Rates(facts)
    criteria: dict[str, CriterionScore] = {}
    for criterion in rubric.criteria:
        raw = _criterion_raw(criterion.id, rates) if criterion.id in CRITERION_BEHAVIOURS else _custom_raw(criterion, rates)
        evidence, rationale = _evidence_and_rationale(criterion, rates, _score(raw))
        scored = CriterionScore(score=_score(raw), rationale=rationale, evidence=evidence)
        if criterion.id == "consistency" and memories:
            raw, scored = _consistency_across_sessions(scored, raw, memories, facts)
        criteria[criterion.id] = scored.model_copy(update={"score": _score(raw) if facts else 1.0})
    overall = weighted_overall({k: v.score for k, v in criteria.items()}, rubric)
    return Scorecard(criteria=criteria, overall=overall, strengths=_strengths(rates), improvements=_improvements(rates),
                     flags=flags, source="offline")
