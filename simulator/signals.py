"""Reading a learner turn: which behaviours that build or break rapport it shows, with the words as evidence.

Offline and fast: the learned behavioural coder (simulator.coder) labels questions, reflections, affirmations,
advice and uptake; phrase lists (simulator/data/cues.yaml) and the conversation so far cover the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from .behaviours import BUILDING, Behaviour
from .coder.grader_directed import grader_directed_span
from .coder.praise import hollow_praise, stock_question
from .coder.relation import grounding, parroting
from .cues import content_words, find
from .persona.spec import PersonaSpec, Verbosity

B = Behaviour
CLEAR = 0.5  # a signal this strong counts as shown for disclosure; a stock question (0.35) does not
WORDS_THAT_FIT = {Verbosity.TERSE: 30, Verbosity.BRIEF: 45, Verbosity.MODERATE: 70, Verbosity.TALKATIVE: 100}
_WARMTH = frozenset({B.AFFIRMATION, B.VALIDATION})
_SLANG = re.compile(r"\b(gonna|wanna|lol|dude|bro|yo|mate|ya|u|ur|omg)\b", re.IGNORECASE)
_FORMAL = re.compile(r"\b(formal|businesslike|precise|measured|polite|proper|reserved)\b", re.IGNORECASE)
_ACRONYM = re.compile(r"\b[A-Z]{3,6}s?\b")


class Signal(BaseModel):
    """One behaviour seen in a turn, how clearly (0-1), and the words that show it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    behaviour: Behaviour
    strength: float = Field(gt=0, le=1)
    evidence: str
    source: Literal["coder", "phrase", "conversation", "model"]


class TriggerHit(BaseModel):
    """A persona-specific trigger fired by the learner's words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Literal["builds", "breaks"]
    index: int
    description: str
    keyword: str
    weight: float


class TurnReading(BaseModel):
    """Everything read from one learner turn."""

    model_config = ConfigDict(extra="forbid")

    signals: list[Signal] = Field(default_factory=list)
    triggers: list[TriggerHit] = Field(default_factory=list)
    codes: dict | None = None  # the coder's labels, when the coder ran
    read_by: str = "offline"  # or which model read it (see simulator.model_reading)

    def strength(self, behaviour: Behaviour) -> float:
        return max((s.strength for s in self.signals if s.behaviour is behaviour), default=0.0)

    def has(self, behaviour: Behaviour) -> bool:
        return self.strength(behaviour) > 0

    @property
    def behaviours(self) -> list[Behaviour]:
        return [s.behaviour for s in self.signals]

    @property
    def clear_behaviours(self) -> list[Behaviour]:
        """Behaviours shown clearly (strength ≥ CLEAR): what a guarded persona's disclosure conditions look for."""
        return [s.behaviour for s in self.signals if s.strength >= CLEAR]


class Coder(Protocol):
    """The learned behavioural coder's interface (see simulator.coder)."""

    def code(self, context: str, response: str): ...  # a coder may also offer code_each(pairs) and prepare(text)


@dataclass
class Conversation:
    """What the reader needs from the conversation so far (before the turn being read)."""

    persona: PersonaSpec | None  # None when grading a transcript whose persona is unknown
    verbosity: Verbosity
    persona_turns: list[str] = field(default_factory=list)  # oldest first; the last is what the learner answers
    learner_turns: list[str] = field(default_factory=list)  # earlier learner turns

    @property
    def last_persona_turn(self) -> str:
        return self.persona_turns[-1] if self.persona_turns else ""


def default_coder() -> Coder | None:
    """The learned coder, unless RAPPORT_CODER=off or its weights are missing (then phrase rules alone)."""
    from .settings import settings

    if (settings().coder or "").lower() in {"off", "0", "false", "rules"}:
        return None
    try:
        from .coder import load_coder

        return load_coder()
    except (ImportError, FileNotFoundError, OSError):
        return None


class TurnReader:
    """Reads learner turns; one per session (the coder itself is shared and cached)."""

    def __init__(self, coder: Coder | None | Literal["default"] = "default"):
        self.coder = default_coder() if coder == "default" else coder

    @property
    def batch_key(self) -> object:
        """Readers with the same key can read their turns in one `read_many` call (see simulator.read_queue)."""
        return (type(self), id(self.coder))

    def read_many(self, items: Sequence[tuple[str, Conversation]]) -> list[TurnReading]:
        """`read` for several turns (from concurrent sessions), each read exactly as alone: the coder embeds
        their texts in one parallel call."""
        if self.coder is None:
            return [self._read(text, conversation, None) for text, conversation in items]
        pairs = [(conversation.last_persona_turn, text) for text, conversation in items]
        each = getattr(self.coder, "code_each", None)  # the learned coder: texts embedded together, codes exact
        coded = each(pairs) if each is not None else [self.coder.code(*pair) for pair in pairs]
        return [self._read(text, conversation, codes) for (text, conversation), codes in zip(items, coded)]

    def prepare(self, reply: str) -> None:
        """A persona reply was just produced: it is the next learner turn's context, so the coder can start
        on it now (in the background) instead of on that turn's critical path."""
        prepare = getattr(self.coder, "prepare", None)
        if prepare is not None:
            prepare(reply)

    def read(self, text: str, conversation: Conversation) -> TurnReading:
        """The behaviours and persona triggers in `text`, said in reply to `conversation.last_persona_turn`."""
        codes = self.coder.code(conversation.last_persona_turn, text) if self.coder is not None else None
        return self._read(text, conversation, codes)

    def _read(self, text: str, conversation: Conversation, codes) -> TurnReading:
        signals: list[Signal] = []
        add = lambda b, s, e, src="phrase": signals.append(Signal(behaviour=b, strength=s, evidence=e, source=src))  # noqa: E731
        previous = conversation.last_persona_turn
        if codes is not None:
            _from_codes(codes, text, previous, add)
        else:
            _from_rules(text, previous, add)
        _validation(text, codes, add)
        _praise(text, conversation, codes, add)
        for behaviour in (B.SELF_DISCLOSURE, B.JUDGMENT, B.JARGON):
            phrase = find(behaviour.value, text)
            if phrase:
                add(behaviour, 1.0, phrase)
        _common_ground(text, add)
        _agenda_and_topic(text, previous, add)
        _follow_up(text, conversation, add)
        _ignored_concern(text, conversation, signals, codes, add)
        _adaptation(text, conversation, add)
        _acronyms(text, conversation, signals, add)
        triggers = persona_triggers(text, conversation.persona) if conversation.persona else []
        if codes is not None and codes.parroting:
            # Their own words handed back fire none of their triggers: echoing "nine days" is not an apology for it.
            echoed = previous.lower()
            triggers = [t for t in triggers if t.keyword.lower() not in echoed]
        if any(s.behaviour in (B.JUDGMENT, B.PUSHING_AGENDA) and s.strength >= 0.8 for s in signals):
            # Warm words inside a hostile turn ("Honestly, you should have...") are not warmth.
            signals = [s for s in signals if not (s.behaviour in _WARMTH and s.source == "coder")]
            triggers = [t for t in triggers if t.side == "breaks"]
        signals = _fit_to_context(signals, codes, text, previous)
        # The coder already scanned the turn; without it, the rules scan it here.
        aimed = grader_directed_span(text) if codes is None or codes.grader_directed else None
        if aimed:
            # Words for the grader are not said to the person: nothing in the turn earns anything.
            signals = [s for s in signals if s.behaviour not in BUILDING]
            signals.append(Signal(behaviour=B.GRADER_DIRECTED, strength=1.0, evidence=aimed, source="phrase"))
            triggers = [t for t in triggers if t.side == "breaks"]
        return TurnReading(
            signals=_strongest_per_behaviour(signals),
            triggers=triggers,
            codes=codes.model_dump() if codes is not None else None,
        )


# How much of a listening or empathy signal a reply keeps when it would fit any conversation (specificity 0).
GENERIC_FLOOR = 0.3
_CONTEXT_BOUND = frozenset({B.VALIDATION, B.REFLECTION_SIMPLE, B.REFLECTION_COMPLEX, B.AFFIRMATION, B.OPEN_QUESTION})


def _fit_to_context(signals: list[Signal], codes, text: str, previous: str) -> list[Signal]:
    """Scale empathy and listening signals by how specific the reply is to what they said."""
    if codes is None or not previous.strip():
        return signals
    factor = GENERIC_FLOOR + (1 - GENERIC_FLOOR) * codes.specificity
    kept = []
    for signal in signals:
        if signal.behaviour in _CONTEXT_BOUND and signal.source != "conversation":
            strength = round(signal.strength * factor, 3)
            if strength < 0.05:
                continue
            signal = signal.model_copy(update={"strength": strength})
        kept.append(signal)
    return kept


def _strongest_per_behaviour(signals: list[Signal]) -> list[Signal]:
    best: dict[Behaviour, Signal] = {}
    for signal in signals:
        if signal.behaviour not in best or signal.strength > best[signal.behaviour].strength:
            best[signal.behaviour] = signal
    return list(best.values())


def _question_text(text: str) -> str:
    return next((s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip().endswith("?")), text.strip())


def _question_strength(codes) -> float:
    """A question that follows from what they said counts fully; a stock one that fits any talk, little."""
    if codes.stock_question:
        return 0.35
    return 1.0 if codes.question_follows else 0.7


def _from_codes(codes, text: str, previous: str, add) -> None:
    if codes.question == "open":
        add(B.OPEN_QUESTION, _question_strength(codes), _question_text(text), "coder")
    elif codes.question == "closed":
        add(B.CLOSED_QUESTION, _question_strength(codes), _question_text(text), "coder")
    if previous and codes.parroting:
        add(B.REFLECTION_SIMPLE, 0.6, text, "coder")  # their words back, verbatim: at most a simple reflection
    elif previous and codes.reflection == "complex":
        add(B.REFLECTION_COMPLEX, 1.0, text, "coder")
    elif previous and codes.reflection == "simple":
        add(B.REFLECTION_SIMPLE, 1.0, text, "coder")
    if codes.affirmation and not codes.hollow_praise:  # the coder's affirmation already names something of theirs
        add(B.AFFIRMATION, 1.0, text, "coder")
    statements = " ".join(s for s in re.split(r"(?<=[.!?])\s+", text) if not s.rstrip().endswith("?"))
    marker = find("unsolicited_advice_markers", statements)  # "What did you need to hear?" tells them nothing to do
    # The advice head is noisy on long turns, so advice counts only with directive words to show for it.
    if marker and not find("asked_for_advice", previous) and not find("permission", text):
        add(B.UNSOLICITED_ADVICE, 1.0 if codes.advice else 0.5, marker, "coder" if codes.advice else "phrase")


def _rule_reflection(text: str, previous: str, add) -> None:
    """Without the coder: a reflection stem counts only when what follows it carries their words."""
    reflection = _REFLECT.search(text)
    if previous and reflection and grounding(previous, text) > 0:
        if parroting(previous, text):
            add(B.REFLECTION_SIMPLE, 0.6, reflection.group(0))
            return
        deeper = find("concern_words", text) or re.search(
            r"\b(because|more than|as if|part of you|weight|carries|feel(s|ing)?)\b", text, re.I)
        add(B.REFLECTION_COMPLEX if deeper else B.REFLECTION_SIMPLE, 0.8, reflection.group(0))


_OPEN_WORDS = re.compile(r"\b(what|how|why|tell me|describe|walk me|in what way|which)\b", re.IGNORECASE)
_CLOSED_START = re.compile(r"^\W*(do|does|did|is|are|was|were|will|would|can|could|should|have|has|had|shall|may|am)\b", re.I)
_REFLECT = re.compile(r"\b(sounds like|so you('re| are| feel)|you feel|you('re| are) (feeling|saying)|what i'm hearing|you seem|it seems like you)\b", re.IGNORECASE)
_AFFIRM = re.compile(r"\b(you('ve| have) (done|worked|managed|kept|come)|took (real )?courage|well done|i appreciate (that|how) you|you clearly|that shows)\b", re.IGNORECASE)


def _from_rules(text: str, previous: str, add) -> None:
    """Fallback when the learned coder is off: simple phrase rules for what it would label."""
    if "?" in text:
        question = _question_text(text)
        is_open = bool(_OPEN_WORDS.search(question)) and not _CLOSED_START.search(question)
        add(B.OPEN_QUESTION if is_open else B.CLOSED_QUESTION, 0.3 if stock_question(question) else 0.8, question)
    _rule_reflection(text, previous, add)
    affirmation = _AFFIRM.search(text)
    if affirmation:
        add(B.AFFIRMATION, 0.8, affirmation.group(0))
    advice = find("unsolicited_advice_markers", text)
    if advice and not find("asked_for_advice", previous) and not find("permission", text):
        add(B.UNSOLICITED_ADVICE, 0.8, advice)


def _validation(text: str, codes, add) -> None:
    phrase = find("validation", text)
    if phrase:
        add(B.VALIDATION, 1.0 if codes is None or not codes.parroting else 0.5, phrase)
    elif codes is not None and codes.emotional_reaction == 2:
        add(B.VALIDATION, 0.7, text, "coder")
    elif codes is not None and codes.emotional_reaction == 1 and codes.interpretation == 2:
        add(B.VALIDATION, 0.5, text, "coder")


def _praise(text: str, conversation: Conversation, codes, add) -> None:
    """Praise that names something real is an affirmation; generic praise and platitudes are hollow."""
    phrase = find("praise", text)
    if codes is not None:
        if codes.hollow_praise:
            add(B.HOLLOW_FLATTERY, 0.8, phrase or text)
        return  # the coder's affirmation decides (it needs praise of something they did, not their nouns)
    if hollow_praise(text, " ".join(conversation.persona_turns[-3:])):
        add(B.HOLLOW_FLATTERY, 0.8, phrase or text)
        return
    if not phrase:
        return
    said = set().union(*(content_words(t) for t in conversation.persona_turns)) if conversation.persona_turns else set()
    if len(content_words(text) & said) >= 2:
        add(B.AFFIRMATION, 1.0, phrase)
    else:
        add(B.HOLLOW_FLATTERY, 0.6, phrase)


def _common_ground(text: str, add) -> None:
    phrase = find("common_ground", text)
    if phrase:
        add(B.COMMON_GROUND, 1.0, phrase)


def _agenda_and_topic(text: str, previous: str, add) -> None:
    pitch = find("pushing_agenda", text)
    if pitch:
        add(B.PUSHING_AGENDA, 1.0, pitch)
    shift = find("topic_shift", text)
    if shift:
        add(B.TOPIC_SHIFT, 1.0, shift)
    elif pitch and previous and not content_words(text) & content_words(previous):
        add(B.TOPIC_SHIFT, 0.6, pitch, "conversation")


FOLLOW_UP_WINDOW = 20  # persona turns looked back over: bounded, so reading a turn costs the same at turn 200


def _follow_up(text: str, conversation: Conversation, add) -> None:
    """Coming back to something the persona said before their last turn."""
    earlier = conversation.persona_turns[-FOLLOW_UP_WINDOW - 1 : -1]
    if not earlier:
        return
    recent = content_words(conversation.last_persona_turn)
    opening = conversation.persona.opening_line if conversation.persona else ""
    old = set().union(*(content_words(t) for t in earlier)) - recent - content_words(opening)
    shared = sorted(content_words(text) & old)
    phrase = find("follow_up", text)
    if phrase and shared:
        add(B.FOLLOW_UP, 1.0, f"{phrase} … {', '.join(shared[:3])}", "conversation")
    elif len(shared) >= 2:
        add(B.FOLLOW_UP, 0.7, ", ".join(shared[:3]), "conversation")


def _ignored_concern(text: str, conversation: Conversation, signals: list[Signal], codes, add) -> None:
    """The persona just voiced a worry, and the learner neither asks about it, reflects it nor builds on it."""
    previous = conversation.last_persona_turn
    concern = find("concern_words", previous)
    if not previous or not concern:
        return
    engaged = {B.OPEN_QUESTION, B.REFLECTION_SIMPLE, B.REFLECTION_COMPLEX, B.VALIDATION, B.CLOSED_QUESTION}
    if engaged & {s.behaviour for s in signals}:
        return
    overlap = len(content_words(text) & content_words(previous))
    low_uptake = codes.uptake < 0.25 if codes is not None else True
    if overlap <= 1 and low_uptake:
        add(B.IGNORING_CONCERN, 0.8, f"they said '{concern}'", "conversation")


def _adaptation(text: str, conversation: Conversation, add) -> None:
    """Matching the persona's length and register; a monologue at a terse person is talking at them."""
    words = len(text.split())
    fits = WORDS_THAT_FIT[conversation.verbosity]
    style = conversation.persona.personality.communication_style if conversation.persona else ""
    formal = bool(_FORMAL.search(style))
    slang = _SLANG.search(text)
    if words > max(2 * fits, 80):
        add(B.PUSHING_AGENDA, 0.5, f"a {words}-word monologue", "conversation")
    elif 4 <= words <= fits and not (formal and slang) and conversation.persona_turns:
        add(B.ADAPTATION, 0.5, f"{words} words, in step with their pace", "conversation")


def _acronyms(text: str, conversation: Conversation, signals: list[Signal], add) -> None:
    """Acronyms the persona never used read as jargon."""
    if any(s.behaviour is B.JARGON for s in signals):
        return
    known = " ".join(conversation.persona_turns) + (conversation.persona.model_dump_json() if conversation.persona else "")
    unknown = [a for a in _ACRONYM.findall(text) if a.rstrip("s") not in known and a not in {"OK", "TV", "GP", "USA"}]
    if unknown:
        add(B.JARGON, 0.6, ", ".join(unknown[:3]), "conversation")


def persona_triggers(text: str, persona: PersonaSpec) -> list[TriggerHit]:
    """The persona's keyword triggers that `text` fires (each at most once)."""
    hits = []
    lowered = text.lower()
    for side in ("builds", "breaks"):
        for index, trigger in enumerate(getattr(persona.triggers, side)):
            for keyword in trigger.keywords:
                if re.search(rf"(?<!\w){re.escape(keyword.lower())}(?!\w)", lowered):
                    hits.append(TriggerHit(side=side, index=index, description=trigger.description,
                                           keyword=keyword, weight=trigger.weight))
                    break
    return hits
