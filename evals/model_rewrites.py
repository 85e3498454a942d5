"""Rewrites of a weak learner turn written by the local instruction-tuned model, kept only when they read better.

The scorecard's rules (evals.rewrites) say the persona's point back and ask; an instruction-tuned embedded model
can say it in words fitted to the moment. It is asked once per weak turn for a few candidates, each read by the
same turn reader that graded the original, in the original's place: a candidate is kept only if it reads well (heard
them and asked openly, breaking nothing), lands better than the original did, and carries something they said.
Otherwise the rule rewrite stands. A base model (prompt_style "transcript") continues scripts and is never asked.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field

from simulator.appraisal import LABELS, TurnAppraisal, appraise, landed
from simulator.behaviours import BREAKING, Behaviour
from simulator.coder.relation import shared_content
from simulator.config import ModelSpec, Role, resolve_model_spec
from simulator.errors import RapportError
from simulator.models import build_chat_model, prompt_style
from simulator.persona.spec import Difficulty, PersonaSpec
from simulator.signals import Conversation, TurnReader, TurnReading

from .rewrites import MAX_WORDS

log = logging.getLogger(__name__)
B = Behaviour
CANDIDATES = 3
MIN_WORDS = 4
MAX_SAID = 600  # characters of the persona's line put in the prompt: a small model loses the task in a long one
MAX_TURN = 400  # characters of the learner's turn put in the prompt
MAX_TOKENS = 160  # three answers of 35 words fit; more is the model rambling, at a few tokens a second on 2 cores
_HEARD = (B.REFLECTION_SIMPLE, B.REFLECTION_COMPLEX, B.VALIDATION)

EXAMPLE = "It sounds like the moving deadline makes it hard to plan. What has that been like for you?"
_SYSTEM = ("You coach people on building rapport. You rewrite one thing a person said so that it shows they "
           "listened. You answer with the rewritten lines only, one per line, nothing else.")
# Numbering, bullets and labels a small model puts before each line ("1.", "-", "Option 2:", "Answer:").
_LABEL = re.compile(r"^\s*(?:[-*•>]+\s*|\(?\d{1,2}[.):]\s*|\(?[a-c][.)]\s+|(?:answer|option|reply|response|rewrite|"
                    r"version|alternative|better)\s*\d*\s*[:.)-]\s*)+", re.IGNORECASE)
_INLINE_NUMBER = re.compile(r"\s+(?=\(?[1-9][.)]\s)")  # "1. ... 2. ..." on one line
_QUOTES = "\"“”`*"
_SPEECH_MARKS = "\"“”"
_PREAMBLE = re.compile(r"^(?:here (?:are|is)|sure\b|certainly\b|rewritten|rewrites?\b|better (?:answers|replies))",
                       re.IGNORECASE)
_LONE_QUESTION = re.compile(r"[^.!?]+\?")  # one sentence, a question
_WORD_COUNT = re.compile(r"\s*\(\d+ words?\)\s*$", re.IGNORECASE)


class RewriteAsk(BaseModel):
    """What the model is told about one weak turn (bounded: it goes into a small model's prompt)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    persona_name: str = Field(min_length=1, max_length=80)
    persona_role: str = Field(default="", max_length=200)
    learner_role: str = Field(default="", max_length=200)
    said: str = Field(min_length=1, max_length=MAX_SAID, description="The persona's line the turn answered.")
    turn: str = Field(min_length=1, max_length=MAX_TURN, description="The learner's turn.")
    missed: list[str] = Field(default_factory=list, description="What the turn missed, in plain words.")
    why: str = Field(default="", max_length=400, description="Why the rules' rewrite is better: the lesson.")


@dataclass(frozen=True)
class WeakTurn:
    """A learner turn to rewrite, with what is needed to read a candidate in its place."""

    index: int
    text: str
    said: str  # the persona's line the turn answered
    reading: TurnReading
    conversation: Conversation  # everything before the turn, as the reader saw it
    problem: Behaviour | None = None
    why: str = ""
    appraisal: TurnAppraisal | None = None
    history: Sequence[TurnAppraisal] = field(default_factory=tuple)  # earlier turns' appraisals
    persona: PersonaSpec | None = None


def reads_well(reading: TurnReading) -> bool:
    """Heard them (a reflection or validation) and asked openly, breaking nothing: a turn the scorecard never
    offers a rewrite for, and the least a rewrite must be."""
    heard = any(reading.has(b) for b in _HEARD)
    return heard and reading.has(B.OPEN_QUESTION) and not any(b in BREAKING for b in reading.behaviours)


def what_it_missed(reading: TurnReading, problem: Behaviour | None) -> list[str]:
    """The turn's shortfalls as the model is told them: its problem, and the listening moves it lacks."""
    missed = [f"it showed {LABELS[problem]}"] if problem is not None else []
    if not any(reading.has(b) for b in _HEARD):
        missed.append("it did not say back anything they said")
    if not reading.has(B.OPEN_QUESTION):
        missed.append("it asked no open question")
    return missed


def rewrite_messages(ask: RewriteAsk) -> list[BaseMessage]:
    """The one prompt that asks for CANDIDATES rewrites."""
    name = ask.persona_name
    who = f"{name} ({ask.persona_role})" if ask.persona_role else name
    learner = f"The learner ({ask.learner_role})" if ask.learner_role else "The learner"
    shortfall = "; ".join(ask.missed) or "it did not build rapport"
    lesson = f" {ask.why}" if ask.why else ""
    # A 1.5B model mixes up who is speaking and copies the persona's "I" unless told plainly, with an example.
    return [SystemMessage(content=_SYSTEM), HumanMessage(content=(
        f'{who} said: "{ask.said}"\n'
        f'{learner} answered: "{ask.turn}"\n'
        f"That answer fell short: {shortfall}.{lesson}\n\n"
        f"Write {CANDIDATES} different better answers the learner could have given instead, each spoken by the "
        f'learner to {name}: first tell back, in one sentence and in your own words, something specific {name} said, '
        f'calling {name} "you"; then ask one open question about it, starting with What or How, on the same line. '
        f"Each answer is at most {MAX_WORDS - 10} words. No advice, no praise, no promises.\n"
        f'For example, if someone said "My manager keeps moving the deadline.", a good answer is: {EXAMPLE}\n'
        "One answer per line, without numbers or quotation marks."
    ))]


def parse_candidates(text: str, original: str = "") -> list[str]:
    """The model's answer as at most CANDIDATES plain lines: labels and quotes around them stripped, lengths bounded,
    no repeats, never the original, and none quoting someone."""
    lines = []
    for raw in (part for line in text.splitlines() for part in _INLINE_NUMBER.split(line)):
        line = _unquote(" ".join(_WORD_COUNT.sub("", _LABEL.sub("", raw.replace("**", ""))).split()))
        if not line or line.endswith(":") or _PREAMBLE.match(line):
            continue
        if lines and "?" not in lines[-1] and _LONE_QUESTION.fullmatch(line):
            lines[-1] = f"{lines[-1]} {line}"  # a small model often puts an answer's question on a line of its own
        else:
            lines.append(line)
    seen = {" ".join(original.lower().split()), EXAMPLE.lower()}  # the example is copied back now and then
    out = []
    for line in lines:
        if not MIN_WORDS <= len(line.split()) <= MAX_WORDS or line.lower() in seen:
            continue
        if any(q in line for q in _SPEECH_MARKS):
            continue  # quoting them ("You said, \"...\"") is not their words said back, though the coder reads it so
        seen.add(line.lower())
        out.append(line)
        if len(out) == CANDIDATES:
            break
    return out


def _unquote(line: str) -> str:
    """The line without the quotes around it; a quote inside it ("You said, \"...\"") keeps both its marks."""
    while len(line) > 1 and line[0] in _QUOTES and line[-1] in _QUOTES:
        line = line[1:-1].strip()
    if sum(line.count(q) for q in _QUOTES) == 1:  # one stray mark at an end: the other half was never written
        line = line.strip(_QUOTES).strip()
    return line


def related(said: str, candidate: str) -> bool:
    """Whether the candidate carries something of what they said: a content word of theirs beyond its stems."""
    return shared_content(said, candidate) >= 1


class ModelRewriter:
    """Asks an instruction-tuned chat model for rewrites; the model is given, or built on first use."""

    def __init__(self, model: BaseChatModel | Callable[[], BaseChatModel]):
        self._model = model if isinstance(model, BaseChatModel) else None
        self._build = None if isinstance(model, BaseChatModel) else model
        self._lock = threading.Lock()

    def model(self) -> BaseChatModel | None:
        """The chat model, built once; None when it cannot be built (the rules write the rewrites then)."""
        with self._lock:
            if self._model is None and self._build is not None:
                build, self._build = self._build, None  # tried once: a missing file is not retried per turn
                try:
                    self._model = build()
                except RapportError as exc:
                    log.warning("rewrites by rules: the local model is unavailable (%s)", exc)
            return self._model

    def candidates(self, ask: RewriteAsk) -> list[str]:
        """Up to CANDIDATES rewrites from one call; none from a base model or a failed call."""
        model = self.model()
        if model is None or prompt_style(model) != "chat":
            return []  # a base model would continue the script as the persona, not write the learner's line
        try:
            reply = model.invoke(rewrite_messages(ask), max_tokens=MAX_TOKENS)
        except Exception as exc:  # noqa: BLE001 - an optional improvement: any failure leaves the rule rewrite
            log.warning("rewrites by rules: the local model failed (%s)", exc)
            return []
        return parse_candidates(str(reply.content), ask.turn)

    def rewrite(self, turn: WeakTurn, reader: TurnReader) -> str | None:
        """The best candidate that reads as better than `turn` and related to what they said, or None."""
        said = turn.said.strip()
        if not said or not turn.text.strip():
            return None  # nothing of theirs to answer (the learner spoke first): the rules know what to say
        persona = turn.persona
        ask = RewriteAsk(persona_name=persona.short_name if persona else "the other person",
                         persona_role=persona.role[:200] if persona else "",
                         learner_role=persona.scenario.learner_role[:200] if persona else "", said=said[:MAX_SAID],
                         turn=turn.text.strip()[:MAX_TURN], missed=what_it_missed(turn.reading, turn.problem),
                         why=turn.why[:400])
        texts = [t for t in self.candidates(ask) if related(said, t)]
        if not texts:
            return None
        before = landed(turn.reading, turn.appraisal)
        kept = []
        for order, (text, reading) in enumerate(zip(texts, _read(reader, texts, turn.conversation))):
            if not reads_well(reading):
                continue  # a rewrite the scorecard would itself want rewritten is no lesson
            score = landed(reading, _appraised(turn, text, reading))
            if score > before:
                kept.append((score, -order, text))  # on a tie, the model's first choice
        return max(kept)[2] if kept else None


def _read(reader: TurnReader, texts: list[str], conversation: Conversation) -> list[TurnReading]:
    """Each candidate read as if said in the original's place (in one coder call when the reader can batch)."""
    many = getattr(reader, "read_many", None)
    if many is not None:
        return many([(text, conversation) for text in texts])
    return [reader.read(text, conversation) for text in texts]


def _appraised(turn: WeakTurn, text: str, reading: TurnReading) -> TurnAppraisal | None:
    """The candidate appraised as the original was (same state before, same earlier turns), when it was."""
    if turn.appraisal is None or turn.persona is None:
        return None
    # A transcript does not say its difficulty: medium, as a replayed transcript is appraised. The preset only
    # scales losses (by patience), so at most a hard session's original counts a little worse than it would here.
    preset = turn.persona.preset(Difficulty.MEDIUM)
    return appraise(reading, text, turn.appraisal.before, turn.persona, preset, list(turn.history), turn.index)


def is_local_chat(spec: ModelSpec | None, model: BaseChatModel | None) -> bool:
    """Whether `model` is an embedded (in-process) instruction-tuned model: the only one asked for rewrites."""
    if model is None or prompt_style(model) != "chat":
        return False
    if spec is not None:
        return spec.provider == "embedded"
    from simulator.models.embedded import EmbeddedChatModel

    return isinstance(model, EmbeddedChatModel)


def rewriter_for(spec: ModelSpec | None, model: BaseChatModel | None) -> ModelRewriter | None:
    """A rewriter on the persona model in use, when it is a local instruction-tuned model."""
    return ModelRewriter(model) if is_local_chat(spec, model) else None


def default_rewriter(override: ModelSpec | str | None = None) -> ModelRewriter | None:
    """A rewriter on the configured persona model (the default: Qwen 1.5B Instruct with no key), built on first use,
    when that is an installed, instruction-tuned embedded model; None otherwise."""
    try:
        spec = resolve_model_spec(Role.PERSONA, override)
    except RapportError as exc:  # a broken persona setting must not stop grading: the rules still rewrite
        log.warning("rewrites by rules: %s", exc)
        return None
    if spec is None or spec.provider != "embedded" or not _installed_chat_model(spec.model):
        return None
    return ModelRewriter(lambda: build_chat_model(spec, Role.PERSONA))


def _installed_chat_model(name: str | None) -> bool:
    """Whether the embedded model `name` names is instruction-tuned and present, without loading or assembling it."""
    from simulator.models import gguf_catalog

    name = name or gguf_catalog.DEFAULT
    if name in gguf_catalog.CATALOG:
        entry = gguf_catalog.CATALOG[name]
        return entry.prompt_style == "chat" and entry.installed()
    if not name.lower().endswith(".gguf"):
        return False  # gemma-270m: a base model
    from simulator.models.embedded import has_chat_template

    path = Path(name).expanduser()
    return path.is_file() and has_chat_template(path)
