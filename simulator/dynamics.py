"""Rapport dynamics for one session: read each learner turn, move the state, gate disclosure, decide outcomes."""

from __future__ import annotations

import logging

from .appraisal import TurnAppraisal, appraise
from .behaviours import Behaviour
from .disclosure import Outcome, condition_holds, outcome_after_turn
from .errors import RapportError
from .persona.spec import Difficulty, HiddenItem, KnowledgeEntry, PersonaSpec
from .read_queue import read_queue
from .portrayal import MOOD_NOTES, choose_cue, mood_direction, reaction_notes, verbosity_for
from .signals import Conversation, TurnReader, TurnReading
from .state import RapportState
from .transcript import Speaker, Turn

KNOWLEDGE_PER_TURN = 3
log = logging.getLogger(__name__)


class RapportDynamics:
    """The persona's hidden state and its history (the trajectory), for one session."""

    def __init__(self, persona: PersonaSpec, difficulty: Difficulty, reader: TurnReader | None = None,
                 nonverbal: bool = True, trajectory: list[TurnAppraisal] | None = None):
        """`trajectory`: a list to keep the appraisals in (a session record's, to continue it), changed in place."""
        self.persona = persona
        self.preset = persona.preset(difficulty)
        self.reader = reader or TurnReader()
        self.nonverbal = nonverbal
        self.initial = RapportState.initial(self.preset)
        self.trajectory: list[TurnAppraisal] = trajectory if trajectory is not None else []

    def reset(self) -> None:
        self.initial = RapportState.initial(self.preset)
        self.trajectory.clear()  # in place: the list may be a session record's

    # -- derived views ----------------------------------------------------------------------------

    @property
    def state(self) -> RapportState:
        return self.trajectory[-1].after if self.trajectory else self.initial

    @property
    def unlocked(self) -> list[str]:
        """Hidden item ids earned so far, in the order they were earned (earned items stay earned)."""
        return [item for a in self.trajectory for item in a.unlocked]

    @property
    def seen(self) -> set[Behaviour]:
        """Behaviours shown clearly enough to count towards disclosure (a stock or recited one does not)."""
        return set().union(*(a.shown.clear for a in self.trajectory))

    def disclosable(self) -> list[HiddenItem]:
        """The hidden items the persona model may be told about: only the earned ones."""
        earned = set(self.unlocked)
        return [item for item in self.persona.hidden_information if item.id in earned]

    # -- one learner turn ---------------------------------------------------------------------------

    def observe(self, turns: list[Turn]) -> TurnAppraisal:
        """Appraise the last turn of `turns` (a learner turn) against everything before it."""
        return self._appraise(self.reader.read(turns[-1].text, self._conversation(turns)), turns)

    async def aobserve(self, turns: list[Turn]) -> TurnAppraisal:
        """`observe` for live sessions: a model-assisted reader is awaited, the coder's CPU runs off the event loop
        (so one learner's turn never stalls another's stream), phrase rules run inline."""
        aread = getattr(self.reader, "aread", None)
        if aread is not None:
            return self._appraise(await aread(turns[-1].text, self._conversation(turns)), turns)
        if self.reader.coder is not None:
            # Read together with other sessions' turns on the CPU pool; the appraisal follows on the same worker
            # (the session awaits it: no concurrent appraisal).
            return await read_queue().read(self.reader, turns[-1].text, self._conversation(turns),
                                           lambda reading: self._appraise(reading, turns))
        return self.observe(turns)

    def prepare(self, reply: str) -> None:
        """The persona just said `reply`: let the reader start on it as the next turn's context."""
        prepare = getattr(self.reader, "prepare", None)
        if prepare is not None:
            prepare(reply)

    def _conversation(self, turns: list[Turn]) -> Conversation:
        *before, _ = turns
        return Conversation(
            persona=self.persona,
            verbosity=self.preset.verbosity,
            persona_turns=[t.text for t in before if t.speaker is Speaker.PERSONA],
            learner_turns=[t.text for t in before if t.speaker is Speaker.LEARNER],
        )

    def _appraise(self, reading: TurnReading, turns: list[Turn]) -> TurnAppraisal:
        current = turns[-1]
        appraisal = appraise(reading, current.text, self.state, self.persona, self.preset, self.trajectory,
                             turn=len(turns) - 1)
        seen = self.seen | set(reading.clear_behaviours)
        earned = set(self.unlocked)
        appraisal.unlocked = [
            item.id for item in self.persona.hidden_information
            if item.id not in earned and condition_holds(item, appraisal.after, seen, self.preset)
        ]
        if self.nonverbal:
            appraisal.cue = choose_cue(self.persona, appraisal.trust_change, appraisal.turn)
        self.trajectory.append(appraisal)
        return appraisal

    def undo_last(self) -> None:
        if self.trajectory:
            self.trajectory.pop()

    def outcome(self) -> Outcome | None:
        """Success or failure decided by the last turn, if any."""
        if not self.trajectory:
            return None
        last = self.trajectory[-1]
        return outcome_after_turn(self.persona, last.after, self.unlocked, last.text)

    # -- what shapes the next reply ----------------------------------------------------------------

    def guidance(self) -> list[str]:
        last = self.trajectory[-1] if self.trajectory else None
        notes = reaction_notes(last, self.persona)
        if last is not None and last.cue:
            notes.append(f"Your reply begins with the stage direction {last.cue}; do not add another one.")
        return notes

    def verbosity(self):
        return verbosity_for(self.state, self.preset.verbosity)

    def knowledge(self, turns: list[Turn]) -> list[KnowledgeEntry]:
        """The knowledge entries relevant to the last two turns, at most a few, so long dossiers don't bloat prompts.

        A short dossier is matched by keywords; a long one (imported character books, say) by meaning, through
        the vector index, falling back to keywords if the index is unavailable.
        """
        recent = " ".join(t.text for t in turns[-2:])
        if len(self.persona.knowledge) > KNOWLEDGE_PER_TURN and recent.strip():
            try:
                from .vectors.knowledge import RELEVANT, shared_index

                return shared_index().retrieve(self.persona, recent, KNOWLEDGE_PER_TURN, max_distance=RELEVANT)
            except (RapportError, ImportError) as exc:
                log.warning("knowledge search unavailable, matching keywords instead: %s", exc)
        lowered = recent.lower()
        hits = [k for k in self.persona.knowledge if any(word.lower() in lowered for word in k.keywords)]
        return hits[:KNOWLEDGE_PER_TURN]

    def mood(self) -> str:
        return mood_direction(self.state)

    def mood_note(self) -> str:
        return MOOD_NOTES[self.state.mood].format(name=self.persona.short_name)
