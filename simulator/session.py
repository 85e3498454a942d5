"""The role-play loop: a transcript, the persona prompt built from the spec, streamed replies, and an ending."""

from __future__ import annotations

import asyncio
import random
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, SystemMessage
from pydantic import BaseModel

from .config import ModelSpec, Role
from .errors import ModelError, SessionError
from .fidelity import character_breaks, clean_reply, drop_breaking_sentences
from .models import describe_model_error, prompt_style
from .persona.spec import Difficulty, PersonaSpec
from .prompts import END_MARKER, PersonaContext, max_tokens_for, persona_messages
from .transcript import Speaker, Transcript, Turn

DEFAULT_MAX_TURNS = 40
STREAM_CUT_RETRIES = 1  # a stream that breaks after it started is retried once here; the openai client retries the rest


class EndReason(StrEnum):
    LEARNER_ENDED = "learner_ended"
    TURN_LIMIT = "turn_limit"
    PERSONA_ENDED = "persona_ended"


class Ending(BaseModel):
    reason: EndReason
    detail: str = ""


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


class Session:
    """One conversation between a learner and a persona."""

    def __init__(
        self,
        persona: PersonaSpec,
        model: BaseChatModel,
        *,
        difficulty: Difficulty | str = Difficulty.MEDIUM,
        max_turns: int = DEFAULT_MAX_TURNS,
        model_spec: ModelSpec | None = None,
        session_id: str | None = None,
    ):
        self.id = session_id or uuid.uuid4().hex
        self.persona = persona
        self.model = model
        self.model_spec = model_spec
        self.difficulty = Difficulty(difficulty)
        self.max_turns = max_turns
        self.started_at = datetime.now(UTC)
        self.turns: list[Turn] = []
        self.ending: Ending | None = None
        self.restart()

    # -- state ---------------------------------------------------------------------------------

    @property
    def preset(self):
        return self.persona.preset(self.difficulty)

    @property
    def learner_turn_count(self) -> int:
        return sum(1 for t in self.turns if t.speaker is Speaker.LEARNER)

    @property
    def awaiting_reply(self) -> bool:
        """True when the last learner message has no reply yet (e.g. the model call failed)."""
        return bool(self.turns) and self.turns[-1].speaker is Speaker.LEARNER

    @property
    def ended(self) -> bool:
        return self.ending is not None

    def transcript(self) -> Transcript:
        return Transcript(persona=self.persona.id, turns=list(self.turns))

    def context(self) -> PersonaContext:
        """What shapes the next reply (extended by the rapport dynamics)."""
        return PersonaContext(preset=self.preset, turns=self.turns)

    def next_prompt(self) -> list[BaseMessage]:
        """The messages the persona model will receive for its next reply."""
        return persona_messages(self.persona, self.context(), prompt_style(self.model))

    # -- commands ------------------------------------------------------------------------------

    def restart(self) -> None:
        """Start the conversation over from the persona's opening line."""
        opening = self.persona.opening_line.strip()
        self.turns = [Turn(speaker=Speaker.PERSONA, text=opening)] if opening else []
        self.ending = None

    def end(self, reason: EndReason = EndReason.LEARNER_ENDED, detail: str = "") -> Ending:
        if self.ending is None:
            self.ending = Ending(reason=reason, detail=detail or _default_detail(reason, self))
        return self.ending

    def undo(self) -> bool:
        """Remove the last exchange (or a learner message still waiting for its reply); False if nothing to undo."""
        floor = 1 if self.persona.opening_line.strip() else 0  # the opening line cannot be undone
        if len(self.turns) <= floor or (self.ending and self.ending.reason is EndReason.LEARNER_ENDED):
            return False
        if self.turns[-1].speaker is Speaker.PERSONA:
            self.turns.pop()
        if len(self.turns) > floor and self.turns[-1].speaker is Speaker.LEARNER:
            self.turns.pop()
        self.ending = None
        return True

    async def send(self, text: str) -> AsyncIterator[ReplyEvent]:
        """Add the learner's message (committed before the model is called) and stream the persona's reply."""
        text = text.strip()
        if not text:
            raise SessionError("type a message first")
        if self.ended:
            raise SessionError(f"this conversation has ended ({self.ending.detail}); restart to practise again")
        if self.awaiting_reply:
            raise SessionError("the last message has no reply yet; retry it or undo it first")
        self.turns.append(Turn(speaker=Speaker.LEARNER, text=text))
        async for event in self._reply():
            yield event

    async def retry(self) -> AsyncIterator[ReplyEvent]:
        """Generate the reply again for a learner message whose reply failed."""
        if not self.awaiting_reply:
            raise SessionError("there is no message waiting for a reply")
        async for event in self._reply():
            yield event

    def send_sync(self, text: str) -> Iterator[ReplyEvent]:
        """`send` for callers without an event loop (the terminal chat)."""
        return _iterate_sync(self.send(text))

    def retry_sync(self) -> Iterator[ReplyEvent]:
        return _iterate_sync(self.retry())

    # -- generation ----------------------------------------------------------------------------

    async def _reply(self) -> AsyncIterator[ReplyEvent]:
        messages = self.next_prompt()
        max_tokens = max_tokens_for(self.context())
        text, persona_left = "", False
        for attempt in range(2):  # a second attempt when the reply is empty or breaks character
            raw = ""
            async for event in self._stream(messages, max_tokens):
                if isinstance(event, Delta):
                    raw += event.text
                elif isinstance(event, Reset):
                    raw = ""
                yield event
            persona_left = END_MARKER in raw
            text = clean_reply(raw.replace(END_MARKER, " "), self._speaker_labels())
            if text and not character_breaks(text, self._last_learner_text()):
                break
            if attempt == 0:
                yield Reset("the reply was empty or out of character")
                messages = messages + [SystemMessage(_stay_in_character(self.persona))]
        text = drop_breaking_sentences(text, self._last_learner_text()) or _fallback_reply(self.persona)
        ending = None
        if persona_left:
            ending = Ending(reason=EndReason.PERSONA_ENDED, detail=f"{self.persona.name} ended the conversation")
        turn = Turn(speaker=Speaker.PERSONA, text=text)
        self.turns.append(turn)
        if ending is None and self.learner_turn_count >= self.max_turns:
            ending = Ending(reason=EndReason.TURN_LIMIT, detail=f"the turn limit of {self.max_turns} was reached")
        if ending is not None:
            self.ending = ending
        yield ReplyDone(turn=turn, index=len(self.turns) - 1, ending=self.ending)

    def _speaker_labels(self) -> list[str]:
        return [self.persona.name, self.persona.short_name, self.persona.scenario.learner_label]

    def _last_learner_text(self) -> str:
        return next((t.text for t in reversed(self.turns) if t.speaker is Speaker.LEARNER), "")

    async def _stream(self, messages: list[BaseMessage], max_tokens: int) -> AsyncIterator[ReplyEvent]:
        for attempt in range(STREAM_CUT_RETRIES + 1):
            started = False
            try:
                async for chunk in self.model.astream(messages, max_tokens=max_tokens):
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


def _stay_in_character(persona: PersonaSpec) -> str:
    return (
        f"Reminder: you are {persona.name}, a real person. Answer in character with a short spoken reply; "
        "do not mention AI, models, instructions or coaching."
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


_BRIDGE_LOCK = threading.Lock()
_BRIDGE_LOOP: asyncio.AbstractEventLoop | None = None


def _bridge_loop() -> asyncio.AbstractEventLoop:
    """One long-lived event loop for synchronous callers: HTTP clients bind to a loop and must keep it."""
    global _BRIDGE_LOOP
    with _BRIDGE_LOCK:
        if _BRIDGE_LOOP is None:
            _BRIDGE_LOOP = asyncio.new_event_loop()
            threading.Thread(target=_BRIDGE_LOOP.run_forever, name="rapport-sync-bridge", daemon=True).start()
        return _BRIDGE_LOOP


def _iterate_sync(agen: AsyncIterator[ReplyEvent]) -> Iterator[ReplyEvent]:
    loop = _bridge_loop()
    while True:
        try:
            yield asyncio.run_coroutine_threadsafe(agen.__anext__(), loop).result()
        except StopAsyncIteration:
            return
