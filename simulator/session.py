"""The role-play loop: a transcript, the persona prompt built from the spec, streamed replies, and an ending."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, SystemMessage

from .aio import iterate_sync
from .appraisal import TurnAppraisal
from .config import ModelSpec, Role
from .voice.delivery import Delivery
from .disclosure import Outcome
from .dynamics import RapportDynamics
from .echo import EchoCheck, Marker, end_marker_use, prompt_index
from .errors import ModelError, SessionError
from .fidelity import character_breaks, drop_breaking_sentences
from .model_reading import live_reader
from .models import describe_model_error, prompt_style
from .persona.spec import Difficulty, PersonaSpec
from .prompts import END_MARKER, PersonaContext, max_tokens_for, persona_messages, stable_prefix
from .reply_guards import ReplyContext, repair, slips
from .reply_plan import plan_reply
from .record import EndReason, Ending, SessionRecord, new_session_id
from .signals import TurnReader
from .state import RapportState
from .trajectory import TrajectoryPoint, trajectory_points
from .transcript import Speaker, Transcript, Turn

__all__ = ["Delta", "EndReason", "Ending", "ReplyCheck", "ReplyDone", "ReplyEvent", "Reset", "Session",
           "SessionListener", "SessionRecord"]

log = logging.getLogger(__name__)
DEFAULT_MAX_TURNS = 40
STREAM_CUT_RETRIES = 1  # a stream that breaks after it started is retried once here; the openai client retries the rest


@dataclass(frozen=True)
class Delta:
    """More text of the reply being streamed."""

    text: str


@dataclass(frozen=True)
class Reset:
    """Discard the streamed text so far: the reply is being generated again."""

    reason: str


@dataclass(frozen=True)
class ReplyDone:
    """The reply as committed to the transcript (it may differ from the streamed text after clean-up)."""

    turn: Turn
    index: int
    ending: Ending | None


ReplyEvent = Delta | Reset | ReplyDone


@dataclass(frozen=True)
class ReplyCheck:
    """The guards that fired on one reply: on the first attempt, and on what was stored (after regenerating)."""

    index: int
    first: list[str]
    stored: list[str]  # "fallback" when no attempt was usable
    attempts: int


# Slips that make a reply unusable: stored only if every attempt has one, and then replaced by the fallback.
HARD_SLIPS = frozenset({"empty", "echoes_prompt", "breaks_character", "assistant_voice", "copies_learner",
                        "speaks_as_learner", "label_or_code", "contradicts_file"})
SLIP_HINTS = {
    "assistant_voice": "You are not helping them; you are the person with your own worries: speak about yourself.",
    "copies_learner": "Do not repeat their words back; answer them.",
    "repeats_itself": "Say something new, not what you said before.",
    "same_opening_direction": "Do not open with the same stage direction again.",
    "speaks_as_learner": "Speak only as yourself, never as them.",
    "label_or_code": "Plain spoken words only: no names before lines, no lists, no code.",
    "contradicts_file": "Keep your name, age, job and the people in your life exactly as described.",
    "cut_off": "Finish your sentence.",
}



class OnRecord:
    """A `Session` attribute kept on its `SessionRecord` (the stored shape): read there, and written there
    when `writable`; anything else is read-only on the live session."""

    def __init__(self, *, writable: bool = False):
        self.writable = writable

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, session: Any, owner: type | None = None) -> Any:
        return self if session is None else getattr(session.record, self.name)

    def __set__(self, session: Any, value: Any) -> None:
        if not self.writable:
            raise AttributeError(f"Session.{self.name} is read-only")
        setattr(session.record, self.name, value)


class SessionListener(Protocol):
    """Told about every change to a session as it happens (the session store commits each one)."""

    def turn_added(self, session: Session, index: int) -> None: ...

    def turns_removed(self, session: Session, first_removed: int) -> None: ...

    def ended(self, session: Session) -> None: ...


class Session:
    """One live conversation between a learner and a persona: a `SessionRecord` (the state, changed in place)
    with the persona model and the reader that move it on. Slots: nothing is attached to it from outside."""

    __slots__ = ("record", "model", "model_spec", "streaming", "dynamics", "listeners", "memory", "assessed", "prompted",
                 "reply_checks", "warming", "__weakref__")

    def __init__(
        self,
        persona: PersonaSpec,
        model: BaseChatModel,
        *,
        difficulty: Difficulty | str = Difficulty.MEDIUM,
        max_turns: int = DEFAULT_MAX_TURNS,
        model_spec: ModelSpec | None = None,
        session_id: str | None = None,
        dynamics: bool = True,
        reader: TurnReader | None = None,
        nonverbal: bool = True,
        streaming: bool = True,
        memory: Callable[[list[Turn]], list[str]] | None = None,
    ):
        record = SessionRecord(id=session_id or new_session_id(), persona=persona, difficulty=Difficulty(difficulty),
                               max_turns=max_turns, model=model_spec.label if model_spec else "")
        self._wrap(record, model, model_spec, dynamics, reader, nonverbal, streaming, memory)
        self.restart()
        self.warming = self.warm()

    @classmethod
    def from_record(
        cls,
        record: SessionRecord,
        model: BaseChatModel,
        *,
        model_spec: ModelSpec | None = None,
        dynamics: bool = True,
        reader: TurnReader | None = None,
        nonverbal: bool = True,
        streaming: bool = True,
        memory: Callable[[list[Turn]], list[str]] | None = None,
    ) -> Session:
        """Continue a stored session where it stopped: its turns, its trajectory (so the rapport state) and its ending."""
        session = cls.__new__(cls)
        session._wrap(record, model, model_spec, dynamics, reader, nonverbal, streaming, memory)
        session.warming = session.warm()
        return session

    def _wrap(self, record: SessionRecord, model: BaseChatModel, model_spec: ModelSpec | None, dynamics: bool,
              reader: TurnReader | None, nonverbal: bool, streaming: bool,
              memory: Callable[[list[Turn]], list[str]] | None) -> None:
        self.record = record
        self.model = model
        self.model_spec = model_spec
        self.streaming = streaming  # False: one call per reply, for batch runs where nobody watches it stream
        # The dynamics append to the record's own trajectory list, so the record is always the whole state.
        self.dynamics = (RapportDynamics(record.persona, record.difficulty, reader or live_reader(), nonverbal,
                                         trajectory=record.trajectory) if dynamics else None)
        self.listeners: list[SessionListener] = []
        self.memory = memory  # what the persona recalls of earlier sessions
        self.assessed = False  # an assigned attempt: its turns are the record a trainer reviews, never rewound
        # Persona turn index -> the private note it was written from and the reply as the model wrote it: the
        # next prompts repeat both exactly, so a local model re-reads only what is new (prompts.persona_messages).
        self.prompted: dict[int, tuple[str, str]] = {}
        self.reply_checks: list[ReplyCheck] = []  # which guards fired on each reply, before and after regenerating
        self.warming: threading.Thread | None = None  # a local model reading the persona's instructions ahead

    # -- state ---------------------------------------------------------------------------------
    # What is stored lives on the record; the live session only reads and writes it there.

    id: str = OnRecord()  # type: ignore[assignment]
    persona: PersonaSpec = OnRecord()  # type: ignore[assignment]
    difficulty: Difficulty = OnRecord()  # type: ignore[assignment]
    max_turns: int = OnRecord()  # type: ignore[assignment]
    preset = OnRecord()
    learner_turn_count: int = OnRecord()  # type: ignore[assignment]
    started_at: datetime = OnRecord(writable=True)  # type: ignore[assignment]
    turns: list[Turn] = OnRecord(writable=True)  # type: ignore[assignment]
    ending: Ending | None = OnRecord(writable=True)  # type: ignore[assignment]

    @property
    def awaiting_reply(self) -> bool:
        """True when the last learner message has no reply yet (e.g. the model call failed)."""
        return bool(self.turns) and self.turns[-1].speaker is Speaker.LEARNER

    @property
    def ended(self) -> bool:
        return self.ending is not None

    def transcript(self) -> Transcript:
        return self.record.transcript()

    @property
    def state(self) -> RapportState | None:
        return self.dynamics.state if self.dynamics else None

    @property
    def trajectory(self) -> list[TurnAppraisal]:
        """Per learner turn: what was read, how trust/openness/engagement moved, and why."""
        return list(self.dynamics.trajectory) if self.dynamics else []

    def trajectory_points(self) -> list[TrajectoryPoint]:
        """The relationship at the start and after each learner turn, with reasons."""
        return trajectory_points(self.dynamics.initial, self.dynamics.trajectory) if self.dynamics else []

    @property
    def unlocked(self) -> list[str]:
        """Hidden item ids the learner earned so far, in the order they were earned."""
        return self.dynamics.unlocked if self.dynamics else []

    def context(self) -> PersonaContext:
        """What shapes the next reply: the preset, the transcript, and the rapport state."""
        notes = {i: note for i, (note, _) in self.prompted.items() if note}
        said = {i: text for i, (_, text) in self.prompted.items()}
        if self.dynamics is None:
            return PersonaContext(preset=self.preset, turns=self.turns, notes=notes, said=said)
        verbosity = self.dynamics.verbosity()
        plan = plan_reply(self.persona, self.turns, self.dynamics.trajectory, self.dynamics.state, verbosity)
        return PersonaContext(
            preset=self.preset,
            turns=self.turns,
            mood=self.dynamics.mood(),
            mood_note=self.dynamics.mood_note(),
            guidance=self.dynamics.guidance(),
            disclosable=self.dynamics.disclosable(),
            knowledge=self.dynamics.knowledge(self.turns),
            memories=self.memory(self.turns) if self.memory else [],
            verbosity=verbosity,
            plan=plan.note,
            conveyed=plan.conveyed,
            notes=notes,
            said=said,
        )

    def next_prompt(self) -> list[BaseMessage]:
        """The messages the persona model will receive for its next reply."""
        return persona_messages(self.persona, self.context(), prompt_style(self.model))

    def warm(self) -> threading.Thread | None:
        """Let a local model read the persona's instructions now, while the learner reads the brief (a model that
        keeps no prompt state has nothing to warm); returns the reading thread, if any."""
        warm_prefix = getattr(self.model, "warm_prefix", None)
        if warm_prefix is None or self.ended:
            return None

        def read_ahead() -> None:
            try:
                warm_prefix(stable_prefix(self.next_prompt()))
            except Exception:  # noqa: BLE001 - only a head start; the first reply reads the prompt itself
                log.warning("could not warm the persona model", exc_info=True)

        thread = threading.Thread(target=read_ahead, name=f"warm-{self.id}", daemon=True)
        thread.start()
        return thread

    def _forget_after(self, length: int) -> None:
        """Drop what the prompt remembered of turns that are gone (undo, restart)."""
        for index in [i for i in self.prompted if i >= length]:
            del self.prompted[index]
        del self.reply_checks[sum(1 for c in self.reply_checks if c.index < length):]

    # -- commands ------------------------------------------------------------------------------

    def restart(self) -> None:
        """Start the conversation over from the persona's opening line."""
        for event in self._restart():
            self._notify(*event)

    async def arestart(self) -> None:
        """`restart` from the event loop: the store's commits run off it (see `_commit`)."""
        for event in self._restart():
            await self._commit(*event)

    def why_cannot_rewind(self) -> str | None:
        """Why undo and restart are refused now, or None."""
        if self.assessed:
            return ("this is an assessed attempt: what was said stays as said (undo and restart are off); "
                    "start another attempt from your assignments if you have one left")
        return None

    def _rewind_allowed(self) -> None:
        if (reason := self.why_cannot_rewind()) is not None:
            raise SessionError(reason)

    def _restart(self) -> list[tuple]:
        opening = self.persona.opening_line.strip()
        had_turns = bool(self.turns)
        if had_turns:  # (the first "restart" is how a new session opens)
            self._rewind_allowed()
        self.turns = [Turn(speaker=Speaker.PERSONA, text=opening)] if opening else []
        self._forget_after(0)
        self.ending = None
        if self.dynamics is not None:
            self.dynamics.reset()
        if not had_turns:
            return []
        return [("turns_removed", 0)] + ([("turn_added", 0)] if self.turns else [])

    def end(self, reason: EndReason = EndReason.LEARNER_ENDED, detail: str = "") -> Ending:
        if self.ending is None:
            self.ending = Ending(reason=reason, detail=detail or _default_detail(reason, self))
            self._notify("ended")
        return self.ending

    async def aend(self, reason: EndReason = EndReason.LEARNER_ENDED, detail: str = "") -> Ending:
        """`end` from the event loop: the store's commit runs off it."""
        if self.ending is None:
            self.ending = Ending(reason=reason, detail=detail or _default_detail(reason, self))
            await self._commit("ended")
        return self.ending

    def _notify(self, event: str, *args) -> None:
        for listener in self.listeners:
            getattr(listener, event)(self, *args)

    async def _commit(self, event: str, *args) -> None:
        """`_notify` from a reply: the store's commit runs off the event loop (other learners' replies keep
        streaming) and is awaited, so commits stay in order and each is done before the reply goes on."""
        if self.listeners:
            await asyncio.to_thread(self._notify, event, *args)

    def undo(self) -> bool:
        """Remove the last exchange (or a learner message still waiting for its reply); False if nothing to undo."""
        events = self._undo()
        for event in events or []:
            self._notify(*event)
        return events is not None

    async def aundo(self) -> bool:
        """`undo` from the event loop: the store's commit runs off it."""
        events = self._undo()
        for event in events or []:
            await self._commit(*event)
        return events is not None

    def _undo(self) -> list[tuple] | None:
        self._rewind_allowed()
        floor = 1 if self.persona.opening_line.strip() else 0  # the opening line cannot be undone
        if len(self.turns) <= floor or (self.ending and self.ending.reason is EndReason.LEARNER_ENDED):
            return None
        if self.turns[-1].speaker is Speaker.PERSONA:
            self.turns.pop()
        if len(self.turns) > floor and self.turns[-1].speaker is Speaker.LEARNER:
            self.turns.pop()
            if self.dynamics is not None:
                self.dynamics.undo_last()
        self.ending = None
        self._forget_after(len(self.turns))
        return [("turns_removed", len(self.turns))]

    def why_cannot_send(self, text: str, *, queued: bool = False) -> str | None:
        """Why `send(text)` would be refused now, or None: the one rule, shown by the UI and raised by `send`.

        `queued`: the message waits for the reply being generated now (the chat panel's queue), so that
        reply's absence is no obstacle."""
        if not text.strip():
            return "type a message first"
        if self.ended:
            again = "start a new attempt from your assignments" if self.assessed else "restart to practise again"
            return f"this conversation has ended ({self.ending.detail}); {again}"
        if self.awaiting_reply and not queued:
            return "the last message has no reply yet; retry it or undo it first"
        return None

    async def send(self, text: str, *, delivery: Delivery | None = None) -> AsyncIterator[ReplyEvent]:
        """Add the learner's message (committed before the model is called) and stream the persona's reply.

        `delivery`: how a spoken message was said (voice practice); it is stored with the turn."""
        if (refused := self.why_cannot_send(text)) is not None:
            raise SessionError(refused)
        text = text.strip()
        self.turns.append(Turn(speaker=Speaker.LEARNER, text=text, delivery=delivery))
        outcome = None
        if self.dynamics is not None:
            await self.dynamics.aobserve(self.turns)
            outcome = self.dynamics.outcome()
        await self._commit("turn_added", len(self.turns) - 1)  # committed before the model is called
        events = self._closing(outcome) if outcome is not None else self._reply()
        async for event in events:
            yield event

    async def retry(self) -> AsyncIterator[ReplyEvent]:
        """Generate the reply again for a learner message whose reply failed."""
        if not self.awaiting_reply:
            raise SessionError("there is no message waiting for a reply")
        async for event in self._reply():
            yield event

    def send_sync(self, text: str, *, delivery: Delivery | None = None) -> Iterator[ReplyEvent]:
        """`send` for callers without an event loop (the terminal chat)."""
        return iterate_sync(self.send(text, delivery=delivery))

    def retry_sync(self) -> Iterator[ReplyEvent]:
        return iterate_sync(self.retry())

    # -- generation ----------------------------------------------------------------------------

    async def _closing(self, outcome: Outcome) -> AsyncIterator[ReplyEvent]:
        """The persona's authored closing line when the conversation is won or lost."""
        for piece in outcome.closing_line.split(" "):
            yield Delta(piece + " ")
        turn = Turn(speaker=Speaker.PERSONA, text=outcome.closing_line)
        self.turns.append(turn)
        await self._commit("turn_added", len(self.turns) - 1)
        reason = EndReason.SUCCESS if outcome.kind == "success" else EndReason.FAILURE
        self.ending = Ending(reason=reason, detail=f"{outcome.description}: {outcome.reason}")
        await self._commit("ended")
        yield ReplyDone(turn=turn, index=len(self.turns) - 1, ending=self.ending)

    def _cue(self) -> str | None:
        return self.dynamics.trajectory[-1].cue if self.dynamics and self.dynamics.trajectory else None

    async def _reply(self) -> AsyncIterator[ReplyEvent]:
        cue = self._cue()
        lead = [Delta(cue + " ")] if cue else []  # the stage direction is shown first, and again after a reset
        # Built once per reply; its knowledge and memory searches embed text (CPU work), so off the event loop.
        context = await asyncio.to_thread(self.context)
        messages = persona_messages(self.persona, context, prompt_style(self.model))
        note = str(messages[-1].content) if context.plan and isinstance(messages[-1], SystemMessage) else ""
        max_tokens = max_tokens_for(context)
        labels = self.speaker_labels()
        learner_text = self.last_learner_text()
        guarded = ReplyContext(self.persona, learner_text, [t.text for t in self.turns if t.speaker is Speaker.PERSONA])
        candidates: list[tuple[str, list[str], bool]] = []  # (text, slips, persona left) per attempt
        extra: dict[str, Any] = {}
        for attempt in range(2):  # one regeneration when a guard fires (reply_guards.py names each slip)
            raw = ""
            echo = EchoCheck(prompt_index(messages, self.persona, context))  # against the prompt this attempt sends
            for event in lead:
                yield event
            async with aclosing(self._stream(messages, max_tokens, **extra)) as stream:
                async for event in stream:
                    if isinstance(event, Delta):
                        raw += event.text
                        yield event
                        if echo.feed(event.text):
                            break  # stop streaming the prompt back at once; the Reset below hides what was shown
                    else:
                        raw = ""
                        echo = EchoCheck(echo.index)
                        yield event
                        for lead_event in lead:
                            yield lead_event
            marker = end_marker_use(raw, END_MARKER, labels)
            echoed = echo.finish() or ("uses the end marker mid-reply" if marker is Marker.STRAY else None)
            # An echoed prompt is never the persona's words: nothing of it is kept, and its end marker ends nothing.
            # repair, not clean_reply with the learner's label: a reply opening "Nurse:" must be caught, not trimmed
            text = "" if echoed else repair(raw.replace(END_MARKER, " "), guarded)
            found = ["echoes_prompt"] if echoed else self._slips(text, guarded)
            candidates.append((text, found, marker is Marker.TRAILING and not echoed))
            if not found:
                break
            log.debug("reply slipped (%s): %r", ", ".join(found), raw[:500])
            if echoed:  # cleared from the screen even after the last attempt, before the fallback is committed
                yield Reset("the reply repeated its instructions")
            elif attempt == 0:
                yield Reset(f"the reply slipped ({', '.join(found)})")
            messages = messages + [SystemMessage(_stay_in_character(self.persona, found))]
            if isinstance(getattr(self.model, "temperature", None), float):
                extra = {"temperature": min(1.2, self.model.temperature + 0.25)}  # a different draw, not the same slip
        text, found, persona_left = min(candidates, key=lambda c: (bool(HARD_SLIPS.intersection(c[1])), len(c[1])))
        if "breaks_character" in found:
            text = drop_breaking_sentences(text, learner_text)
            found = self._slips(text, guarded)
        if not text or HARD_SLIPS.intersection(found):
            text, found, persona_left = _fallback_reply(self.persona), ["fallback"], False
        said = text
        if cue and not text.startswith("*"):
            text = f"{cue} {text}"
        ending = None
        if persona_left:
            ending = Ending(reason=EndReason.PERSONA_ENDED, detail=f"{self.persona.name} ended the conversation")
        turn = Turn(speaker=Speaker.PERSONA, text=text)
        self.turns.append(turn)
        index = len(self.turns) - 1
        self.prompted[index] = (note, said)
        self.reply_checks.append(ReplyCheck(index=index, first=candidates[0][1], stored=found,
                                            attempts=len(candidates)))
        await self._commit("turn_added", index)
        if ending is None and self.learner_turn_count >= self.max_turns:
            ending = Ending(reason=EndReason.TURN_LIMIT, detail=f"the turn limit of {self.max_turns} was reached")
        if ending is not None:
            self.ending = ending
            await self._commit("ended")
        elif self.dynamics is not None:
            try:  # the next learner turn is read against this reply: start on it now, while they read it
                self.dynamics.prepare(text)
            except Exception:  # noqa: BLE001 - only a head start; the turn's own read embeds it if this failed
                log.warning("could not start reading the reply ahead", exc_info=True)
        yield ReplyDone(turn=turn, index=index, ending=self.ending)

    @staticmethod
    def _slips(text: str, guarded: ReplyContext) -> list[str]:
        """The guards a candidate reply fails, breaking character included."""
        found = slips(text, guarded)
        if text and character_breaks(text, guarded.learner_text):
            found.append("breaks_character")
        return found

    def speaker_labels(self) -> list[str]:
        """The names a reply may wrongly start with or run into (its own, and the learner's label)."""
        return [self.persona.name, self.persona.short_name, self.persona.scenario.learner_label]

    def last_learner_text(self) -> str:
        """The learner's latest message (what the next reply answers), or "" before the first."""
        return next((t.text for t in reversed(self.turns) if t.speaker is Speaker.LEARNER), "")

    async def _stream(self, messages: list[BaseMessage], max_tokens: int, **extra: Any) -> AsyncIterator[ReplyEvent]:
        for attempt in range(STREAM_CUT_RETRIES + 1):
            started = False
            try:
                if not self.streaming:
                    reply = await self.model.ainvoke(messages, max_tokens=max_tokens, **extra)
                    yield Delta(str(reply.content))
                    return
                async for chunk in self.model.astream(messages, max_tokens=max_tokens, **extra):
                    if chunk.content:
                        started = True
                        yield Delta(str(chunk.content))
                return
            except Exception as exc:  # noqa: BLE001 - every failure becomes a user-facing ModelError
                error = describe_model_error(exc, self.model_spec, Role.PERSONA)
                if not (started and error.retryable and attempt < STREAM_CUT_RETRIES):
                    raise error from exc
                yield Reset("the connection broke in the middle of the reply")
                await asyncio.sleep(0.5 * (attempt + 1) + random.random() * 0.5)


def _stay_in_character(persona: PersonaSpec, found: list[str]) -> str:
    """The reminder a regeneration gets, naming what went wrong the first time."""
    hints = [SLIP_HINTS[name] for name in found if name in SLIP_HINTS]
    return (
        f"Reminder: you are {persona.name}, a real person. Answer in character with a short spoken reply; "
        "do not mention AI, models, instructions or coaching." + "".join(f" {hint}" for hint in hints)
    )


def _fallback_reply(persona: PersonaSpec) -> str:
    """An in-character non-answer for when the model produced nothing usable twice."""
    cue = persona.nonverbal_cues[0] if persona.nonverbal_cues else "*pauses*"
    return f"{cue} Sorry, where were we?"


def _default_detail(reason: EndReason, session: Session) -> str:
    return {
        EndReason.LEARNER_ENDED: "you ended the conversation",
        EndReason.TURN_LIMIT: f"the turn limit of {session.max_turns} was reached",
        EndReason.PERSONA_ENDED: f"{session.persona.name} ended the conversation",
    }[reason]
