"""The offline scorecard: the seven criteria from the behavioural coder's labels and the rapport trajectory.

No judge model. Each criterion's rubric `offline` block says which features of the conversation raise or lower it and
by how much (evals/rubrics/default.yaml for the seven core criteria); this module computes the features, sums the
weighted terms into a 0-1 raw score and maps it to 1-5, with evidence quoted from the turns that drove it.

Repetition earns less: a turn's rapport-building strengths (and its coder empathy, uptake and exploration) are
multiplied by its freshness (simulator.repetition). A turn addressed to the grader rather than the person earns
nothing on any criterion: it counts as a turn, but adds nothing to a positive term.

The weakest turns get rewrites by rules (evals.rewrites), or by the local instruction-tuned model when the caller
gives one and its rewrite reads better than the turn (evals.model_rewrites).
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field

from simulator.appraisal import TurnAppraisal, is_scripted_repeat, landed
from simulator.behaviours import BREAKING, BUILDING, Behaviour
from simulator.cues import find
from simulator.recollection import followed_up
from simulator.persona.spec import PersonaSpec
from simulator.repetition import freshness
from simulator.replay import appraisals_by_turn, conversation_at, replay_dynamics, replay_readings
from simulator.signals import TurnReader, TurnReading
from simulator.transcript import Speaker, Transcript
from simulator.voice.delivery import Delivery
from simulator.voice.persona_voice import DEFAULT_VOICE

from .delivery import PACE_TOLERANCE, persona_pace
from .model_rewrites import ModelRewriter, WeakTurn, reads_well
from .rewrites import rewrite_turn
from .rubric import Criterion, OfflineCues, OfflineTerm, Rubric, offline_cues
from .scorecard import CriterionScore, Evidence, Improvement, Scorecard, weighted_overall

B = Behaviour
MAX_EVIDENCE = 3
MODEL_REWRITE_SECONDS = 25.0  # the local model takes 10-30 s a turn on 2 cores; no new call starts after this


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
    freshness: float = 1.0  # simulator.repetition: 1 for new words, less for a formula used before
    grader_directed: bool = False  # addressed to the grader, not the person: earns nothing
    specificity: float | None = None  # coder 0-1, when coded
    parroting: bool = False
    hollow_praise: bool = False
    delivery: Delivery | None = None  # how a spoken turn was said (voice practice)
    persona_pace: float = DEFAULT_VOICE.words_per_minute

    def strength(self, behaviour: Behaviour) -> float:
        """How clearly the turn shows the behaviour, as read (for evidence and rewrites)."""
        return self.reading.strength(behaviour)

    def earned(self, behaviour: Behaviour) -> float:
        """The strength the scorecard counts: a rapport-building behaviour discounted by the turn's freshness."""
        strength = self.reading.strength(behaviour)
        return strength * self.freshness if behaviour in BUILDING else strength

    @property
    def valence(self) -> float:
        """How the turn landed: the trust change when a persona was simulated, else the signals' balance."""
        return landed(self.reading, self.appraisal)


@dataclass
class Rates:
    turns: list[TurnFacts]
    n: int = field(init=False)

    def __post_init__(self) -> None:
        self.n = max(len(self.turns), 1)

    def count(self, *behaviours: Behaviour) -> float:
        return sum(max(t.earned(b) for b in behaviours) for t in self.turns)

    def rate(self, *behaviours: Behaviour) -> float:
        return self.count(*behaviours) / self.n


def _clip(value: float) -> float:
    return max(0.0, min(1.0, value))


def _score(raw: float) -> float:
    return 1 + 4 * _clip(raw)


def _rescaled_mean(values: list[float | None], zero: float, full: float, default: float) -> float:
    """The mean of values rescaled so `zero` -> 0 and `full` -> 1, clipped to 0-1; `default` when none."""
    present = [v for v in values if v is not None]
    mean = statistics.fmean(present) if present else default
    return _clip((mean - zero) / (full - zero))


def _swings(turns: list[TurnFacts]) -> int:
    """How often a turn that landed warmly was followed by a harsh one."""
    return sum(1 for a, b in zip(turns, turns[1:]) if a.valence > 2 and b.valence < -2)


class Features:
    """The features of one conversation that rubric `offline` terms weigh (see evals.rubric.NAMED_FEATURES).

    With `earning`, the view positive terms see: a grader-directed turn counts as a turn but contributes
    nothing. Rapport-building strengths, coder empathy, uptake and exploration are discounted by freshness.
    """

    def __init__(self, turns: list[TurnFacts], *, earning: bool = False, cues: OfflineCues | None = None,
                 memories: list | None = None):
        self.turns, self.earning, self.cues, self.memories = turns, earning, cues, memories
        self.n = max(len(turns), 1)
        self._cache: dict[str, float] = {}

    def pays(self, turn: TurnFacts) -> bool:
        return not (self.earning and turn.grader_directed)

    def earned(self, turn: TurnFacts, behaviour: Behaviour) -> float:
        return turn.earned(behaviour) if self.pays(turn) else 0.0

    def _fresh(self, turn: TurnFacts, value: float | None, zero: float) -> float | None:
        """A per-turn coder value whose part above `zero` is discounted by freshness (zero when it earns nothing)."""
        if value is None:
            return None
        if not self.pays(turn):
            return zero
        return zero + (value - zero) * turn.freshness if value > zero else value

    def value(self, name: str) -> float:
        if name not in self._cache:
            self._cache[name] = self._compute(name)
        return self._cache[name]

    def _compute(self, name: str) -> float:
        """`rate:`/`count:`/`strong:<behaviour>`, else the method named after the aggregate (one per name in
        evals.rubric.NAMED_FEATURES; a test checks every name has one)."""
        kind, _, behaviour = name.partition(":")
        turns, n = self.turns, self.n
        if behaviour:
            b = Behaviour(behaviour)
            if kind == "rate":
                return sum(self.earned(t, b) for t in turns) / n
            if kind == "count":
                return sum(self.earned(t, b) for t in turns)
            if kind == "strong":
                return sum(self.earned(t, b) >= 0.8 for t in turns)
            raise KeyError(name)
        return getattr(self, "_" + name)()

    # -- named aggregates (one method per name in evals.rubric.NAMED_FEATURES) --

    def _coder_empathy(self) -> float:
        # The coder's empathy is calibrated on Reddit peer support, where 2-2.5 is already warm; rescale it.
        return _rescaled_mean([self._fresh(t, t.empathy, 1.0) for t in self.turns], 1.0, 3.5, 1.8)

    def _uptake(self) -> float:  # NCTE uptake: 0.8 is strong
        return _rescaled_mean([self._fresh(t, t.uptake, 0.3) for t in self.turns], 0.3, 0.8, 0.4)

    def _exploring(self) -> float:
        return sum(t.freshness for t in self.turns if t.exploration >= 1 and self.pays(t)) / self.n

    def _scripted(self) -> float:
        return sum(t.scripted and self.pays(t) for t in self.turns) / self.n

    def _landed(self) -> float:
        return sum(t.valence >= 0 and self.pays(t) for t in self.turns) / self.n

    def _joint_effort(self) -> float:
        return sum(bool(find("joint_effort", t.text)) and self.pays(t) for t in self.turns)

    def _in_step(self) -> float:  # matched and landed
        return sum(self.earned(t, B.ADAPTATION) > 0 and t.valence >= 0 for t in self.turns) / self.n

    def _recovery(self) -> float:
        pairs = [(a, b) for a, b in zip(self.turns, self.turns[1:]) if a.valence < -2]
        return sum(b.valence > 0 and self.pays(b) for _, b in pairs) / len(pairs) if pairs else 0.7

    def _diversity(self) -> float:
        return len({b for t in self.turns if self.pays(t) for b in t.reading.behaviours
                    if b not in BREAKING and b is not B.ADAPTATION})

    def _monologue(self) -> float:
        return sum("monologue" in s.evidence for t in self.turns if self.pays(t) for s in t.reading.signals) / self.n

    def _swings(self) -> float:
        return _swings(self.turns) / self.n

    def _follow_up_spread(self) -> float:
        return sum(self.earned(t, B.FOLLOW_UP) for t in self.turns) / max(1, self.n / 4)

    def _phrases(self) -> float:
        phrases = self.cues.phrases if self.cues else []
        return len([t for t, _ in _phrase_hits(phrases, self.turns) if self.pays(t)]) / self.n

    def _positive(self) -> float:
        good = self.cues.positive if self.cues else []
        return sum(max(self.earned(t, b) for b in good) for t in self.turns) / self.n if good else 0.0

    def _negative(self) -> float:
        bad = self.cues.negative if self.cues else []
        return sum(max(self.earned(t, b) for b in bad) for t in self.turns) / self.n if bad else 0.0

    def _commitments(self) -> float:
        kept, forgotten = commitments_kept(self.memories, self.turns)
        total = len(kept) + len(forgotten)
        return (sum(self.pays(t) for _, t in kept) - len(forgotten)) / total if total else 0.0

    def _specificity(self) -> float:
        values = [t.specificity * t.freshness if self.pays(t) else 0.0 for t in self.turns if t.specificity is not None]
        return statistics.fmean(values) if values else 0.5

    def _parroting(self) -> float:
        return sum(t.parroting and self.pays(t) for t in self.turns) / self.n

    def _hollow_praise(self) -> float:
        return sum(t.hollow_praise and self.pays(t) for t in self.turns) / self.n

    def _spoken(self) -> list[TurnFacts]:
        return [t for t in self.turns if t.delivery is not None and t.delivery.spoken]

    def _pace_match(self) -> float:
        return sum(1 for t in self._spoken() if t.delivery.words_per_minute and self.pays(t)
                   and abs(t.delivery.words_per_minute - t.persona_pace) <= PACE_TOLERANCE * t.persona_pace) / self.n

    def _interruptions(self) -> float:
        return sum(t.delivery.interrupted for t in self._spoken()) / self.n

    def _monotone(self) -> float:
        return sum(t.delivery.monotone for t in self._spoken()) / self.n

    def _filler_rate(self) -> float:
        spoken = self._spoken()
        words = sum(t.delivery.words for t in spoken)
        return 10.0 * sum(t.delivery.fillers for t in spoken) / words if words else 0.0

    def _grader_directed(self) -> float:
        return sum(t.grader_directed and self.pays(t) for t in self.turns) / self.n


def term_value(term: OfflineTerm, features: Features) -> float:
    """The term before its weight: `min(cap, scale * sum(coefficient * feature)) [* times]`."""
    value = term.scale * sum(c * features.value(name) for name, c in term.parts.items())
    if term.cap is not None:
        value = min(term.cap, value)
    return value * features.value(term.times) if term.times else value


def criterion_terms(cues: OfflineCues | None, turns: list[TurnFacts], memories: list | None = None,
                    ) -> tuple[float, list[tuple[OfflineTerm, float]]]:
    """(base, [(term, value before its weight)]): positive terms see the earning view, negative ones every turn."""
    if cues is None:
        return 0.5, []
    base, terms = cues.recipe()
    everything = Features(turns, cues=cues, memories=memories)
    earning = Features(turns, earning=True, cues=cues, memories=memories)
    return base, [(term, term_value(term, earning if term.weight > 0 else everything)) for term in terms]


def criterion_raw(cues: OfflineCues | None, turns: list[TurnFacts], memories: list | None = None) -> float:
    """The 0-1 raw score (before clipping) of a criterion scored by `cues`."""
    base, values = criterion_terms(cues, turns, memories)
    return base + sum(term.weight * value for term, value in values)


def _phrase_hits(phrases: list[str], turns: list[TurnFacts]) -> list[tuple[TurnFacts, str]]:
    """(turn, the words that matched) for each learner turn that uses one of the criterion's phrases."""
    if not phrases:
        return []
    pattern = re.compile("|".join(f"(?:{p})" for p in phrases), re.I)
    return [(t, match.group(0)) for t in turns if (match := pattern.search(t.text))]


LABEL = {b: b.value.replace("_", " ") for b in Behaviour}


def _quote(turn: TurnFacts, behaviour: Behaviour) -> str:
    """The signal's own words when they are in the turn verbatim, else the turn's first sentence."""
    for signal in turn.reading.signals:
        quote = signal.evidence.strip()
        if signal.behaviour is behaviour and quote and quote in turn.text:
            return quote
    first = re.split(r"(?<=[.!?])\s+", turn.text.strip(), maxsplit=1)[0]
    return first


def _evidence_and_rationale(criterion: Criterion, cues: OfflineCues | None, r: Rates, score: float,
                            ) -> tuple[list[Evidence], str]:
    good = list(cues.positive) if cues else []
    bad = list(cues.negative) if cues else []
    found_good = [(t, b) for t in r.turns for b in good if t.strength(b) > 0]
    found_bad = [(t, b) for t in r.turns for b in bad if t.strength(b) > 0]
    phrased = _phrase_hits(cues.phrases if cues else [], r.turns)
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
    if cues and any("swings" in t.features for t in cues.recipe()[1]):
        # mostly judged by what did not happen: say so, or a high score reads as odd
        swings = _swings(r.turns)
        parts.insert(0, "tone kept steady (no swing from warm to harsh)" if not swings
                     else f"{swings} swing{'s' if swings > 1 else ''} from warm to harsh")
    rationale = (f"Offline coder, over {r.n} learner turn{'s' if r.n != 1 else ''}: " + "; ".join(parts) + "."
                 if parts else f"Offline coder: little {criterion.name.lower()} behaviour seen in {r.n} learner turns.")
    return evidence, rationale


def _nothing_to_improve(turn: TurnFacts) -> bool:
    """No rapport-breaking behaviour, and already both heard them (reflection or validation) and asked openly:
    the offline rewrite (a reflection and an open question) would only restate the turn."""
    return reads_well(turn.reading)


@dataclass
class Rewriting:
    """What a model rewriter needs beyond the turns: the conversation they were said in, and who to."""

    rewriter: ModelRewriter
    transcript: Transcript
    persona: PersonaSpec | None
    reader: TurnReader


def _improvements(r: Rates, rewriting: Rewriting | None = None) -> list[Improvement]:
    """Rewrites of the (up to) three weakest learner turns that have something to improve: by the rules, or by
    the local model when one is given and its rewrite reads better (weakest first, while its time lasts)."""
    candidates = [t for t in r.turns if not _nothing_to_improve(t)]
    weakest = sorted(candidates, key=lambda t: t.valence)[:3]
    started = time.monotonic()
    out = []
    for turn in weakest:
        problems = [s for s in turn.reading.signals if s.behaviour in BREAKING]
        problem = max(problems, key=lambda s: s.strength).behaviour if problems else (
            B.CLOSED_QUESTION if turn.strength(B.CLOSED_QUESTION) else None)
        better, why = rewrite_turn(turn.context, problem)
        # A learner waits for the scorecard: past the budget, the remaining turns keep the rules' rewrites.
        written = (_model_rewrite(turn, problem, why, r, rewriting)
                   if rewriting and time.monotonic() - started < MODEL_REWRITE_SECONDS else None)
        out.append(Improvement(turn=turn.index, original=turn.text, better=written or better, why=why,
                               written_by="model" if written else "rules"))
    return sorted(out, key=lambda i: i.turn)


def _model_rewrite(turn: TurnFacts, problem: Behaviour | None, why: str, r: Rates, rewriting: Rewriting) -> str | None:
    """The local model's rewrite of `turn`, read in its place against the original; None to keep the rules'."""
    history = [t.appraisal for t in r.turns if t.index < turn.index and t.appraisal is not None]
    weak = WeakTurn(index=turn.index, text=turn.text, said=turn.context, reading=turn.reading,
                    conversation=conversation_at(rewriting.transcript, turn.index, rewriting.persona),
                    problem=problem, why=why, appraisal=turn.appraisal, history=history, persona=rewriting.persona)
    return rewriting.rewriter.rewrite(weak, rewriting.reader)


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
    appraisals: list[TurnAppraisal] | None = None, readings: dict[int, TurnReading] | None = None,
) -> list[TurnFacts]:
    """Read every learner turn, and replay the dynamics when the persona is known (unless already appraised).
    `readings` (by turn index) saves reading the turns again when there is no persona to replay."""
    if appraisals is not None:
        appraisals = {a.turn: a for a in appraisals}
    else:
        appraisals = appraisals_by_turn(replay_dynamics(transcript, persona, reader)) if persona else {}
    readings = ({i: a.reading for i, a in appraisals.items()} or readings
                or replay_readings(transcript, reader, persona))
    facts, earlier = [], []
    for index, reading in sorted(readings.items()):
        text = transcript.turns[index].text
        context = next((t.text for t in reversed(transcript.turns[:index]) if t.speaker is Speaker.PERSONA), "")
        codes = reading.codes or {}
        facts.append(TurnFacts(
            index=index, text=text, context=context, reading=reading, appraisal=appraisals.get(index),
            scripted=is_scripted_repeat(text, earlier), empathy=codes.get("empathy"), uptake=codes.get("uptake"),
            exploration=codes.get("exploration") or 0, freshness=freshness(text, earlier),
            grader_directed=bool(codes.get("grader_directed")), specificity=codes.get("specificity"),
            parroting=bool(codes.get("parroting")), hollow_praise=bool(codes.get("hollow_praise")),
            delivery=transcript.turns[index].delivery, persona_pace=persona_pace(persona),
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


def _across_sessions(criterion: CriterionScore, memories, turns: list[TurnFacts]) -> CriterionScore:
    """Say which earlier commitments were followed up (quoted as evidence) and which were forgotten."""
    kept, forgotten = commitments_kept(memories, turns)
    if not kept and not forgotten:
        return criterion
    notes = [f"followed up on an earlier promise in turn {t.index}" for _, t in kept]
    notes += [f"did not come back to: {text}" for text in forgotten]
    evidence = [Evidence(turn=t.index, quote=t.text.split(". ")[0].strip()) for _, t in kept] + criterion.evidence
    return criterion.model_copy(update={
        "rationale": criterion.rationale.rstrip(".") + "; across sessions: " + "; ".join(notes) + ".",
        "evidence": evidence[:MAX_EVIDENCE],
    })


def offline_scorecard(
    transcript: Transcript, rubric: Rubric, persona: PersonaSpec | None = None, reader: TurnReader | None = None,
    appraisals: list[TurnAppraisal] | None = None, memories: list | None = None,
    rewriter: ModelRewriter | None = None,
) -> Scorecard:
    """Grade `transcript` with no judge model. `appraisals` from a live session save reading the turns again;
    `memories` from earlier sessions with this persona let consistency check the learner's follow-up; `rewriter`
    (the local instruction-tuned model) may write the rewrites of weak turns, else the rules do."""
    reader = reader or TurnReader()
    facts = turn_facts(transcript, persona, reader, appraisals)
    flags = []
    if not facts:
        flags.append("the transcript has no learner turns to grade")
    if persona is None:
        flags.append("persona unknown: graded from the learner's turns alone, without the rapport trajectory")
    rates = Rates(facts)
    criteria: dict[str, CriterionScore] = {}
    for criterion in rubric.criteria:
        cues = offline_cues(criterion.id, rubric)
        score = _score(criterion_raw(cues, facts, memories)) if facts else 1.0
        evidence, rationale = _evidence_and_rationale(criterion, cues, rates, score)
        scored = CriterionScore(score=score, rationale=rationale, evidence=evidence)
        if memories and cues and any("commitments" in t.features for t in cues.recipe()[1]):
            scored = _across_sessions(scored, memories, facts)
        criteria[criterion.id] = scored
    overall = weighted_overall({k: v.score for k, v in criteria.items()}, rubric)
    rewriting = Rewriting(rewriter, transcript, persona, reader) if rewriter is not None else None
    return Scorecard(criteria=criteria, overall=overall, strengths=_strengths(rates),
                     improvements=_improvements(rates, rewriting),
                     flags=flags, source="offline")
