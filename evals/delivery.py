"""The scorecard's delivery section: how the learner sounded across a voice session, with the turns as evidence.

Built from what each spoken turn stored (`Turn.delivery`, measured by simulator/voice/delivery.py), so a stored
session shows the same section in History. Only spoken turns count; a typed session has no delivery section.
"""

from __future__ import annotations

import statistics

from pydantic import BaseModel, Field

from simulator.persona.spec import PersonaSpec
from simulator.transcript import Speaker, Turn
from simulator.voice.delivery import Delivery
from simulator.voice.persona_voice import DEFAULT_VOICE

PACE_TOLERANCE = 0.2  # within 20% of the persona's pace counts as matched
LONG_PAUSE = 3.0  # seconds of silence before answering that reads as hesitation
FILLERS_NOTED = 3  # fillers in one turn worth pointing at


class DeliveryTurn(BaseModel):
    turn: int
    words_per_minute: float | None
    pause_before: float | None
    fillers: int
    interrupted: bool
    monotone: bool
    matched_pace: bool | None


class DeliveryReport(BaseModel):
    """Delivery over a session's spoken turns; each finding names the turns it comes from."""

    spoken_turns: int = Field(ge=1)
    persona_words_per_minute: float
    words_per_minute: float | None = Field(description="Median over spoken turns.")
    pace_matched: float = Field(ge=0, le=1, description="Share of spoken turns within 20% of the persona's pace.")
    pause_before: float | None = Field(description="Median seconds before answering.")
    fillers: int
    fillers_per_100_words: float
    talk_share: float = Field(ge=0, le=1, description="The learner's share of the time spoken (estimated for the "
                                                      "persona from its words and pace).")
    interruptions: int
    monotone_turns: int
    loudness_spread_db: float | None = Field(None, description="Median spread of loudness within a turn (dB).")
    turns: list[DeliveryTurn]
    trend: list[str] = Field(default_factory=list, description="How delivery moved from the first half to the second.")
    findings: list[tuple[str, list[int]]] = Field(default_factory=list)


def persona_pace(persona: PersonaSpec | None) -> float:
    return (persona.voice if persona is not None and persona.voice else DEFAULT_VOICE).words_per_minute


def delivery_report(turns: list[Turn], persona: PersonaSpec | None) -> DeliveryReport | None:
    """The delivery section for `turns`, or None when no learner turn was spoken."""
    spoken = [(i, t.delivery) for i, t in enumerate(turns)
              if t.speaker is Speaker.LEARNER and t.delivery is not None and t.delivery.spoken]
    if not spoken:
        return None
    pace = persona_pace(persona)
    rows = [_row(i, d, pace) for i, d in spoken]
    rates = [r.words_per_minute for r in rows if r.words_per_minute]
    pauses = [r.pause_before for r in rows if r.pause_before is not None]
    words = sum(d.words for _, d in spoken)
    fillers = sum(d.fillers for _, d in spoken)
    learner_seconds = sum(d.duration for _, d in spoken)
    persona_words = sum(len(t.text.split()) for t in turns if t.speaker is Speaker.PERSONA)
    persona_seconds = persona_words / pace * 60.0
    matched = [r for r in rows if r.matched_pace]
    report = DeliveryReport(
        spoken_turns=len(rows), persona_words_per_minute=round(pace, 1),
        words_per_minute=round(statistics.median(rates), 1) if rates else None,
        pace_matched=round(len(matched) / len(rows), 3),
        pause_before=round(statistics.median(pauses), 2) if pauses else None,
        fillers=fillers, fillers_per_100_words=round(100.0 * fillers / max(words, 1), 1),
        talk_share=round(learner_seconds / max(learner_seconds + persona_seconds, 1e-9), 3),
        interruptions=sum(r.interrupted for r in rows), monotone_turns=sum(r.monotone for r in rows), turns=rows,
        loudness_spread_db=_median([d.loudness_spread_db for _, d in spoken]),
    )
    return report.model_copy(update={"trend": _trend(rows), "findings": _findings(rows, pace)})


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def _row(index: int, d: Delivery, pace: float) -> DeliveryTurn:
    matched = abs(d.words_per_minute - pace) <= PACE_TOLERANCE * pace if d.words_per_minute else None
    return DeliveryTurn(turn=index, words_per_minute=d.words_per_minute, pause_before=d.pause_before,
                        fillers=d.fillers, interrupted=d.interrupted, monotone=d.monotone, matched_pace=matched)


def _trend(rows: list[DeliveryTurn]) -> list[str]:
    if len(rows) < 4:
        return []
    half = len(rows) // 2
    first, second = rows[:half], rows[half:]
    notes = []

    def median(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    a = median([r.words_per_minute for r in first if r.words_per_minute])
    b = median([r.words_per_minute for r in second if r.words_per_minute])
    if a and b and abs(b - a) >= 15:
        notes.append(f"Your pace went from about {a:.0f} to {b:.0f} words a minute.")
    a = sum(r.fillers for r in first) / len(first)
    b = sum(r.fillers for r in second) / len(second)
    if abs(b - a) >= 1:
        notes.append(f"Fillers per turn went from {a:.1f} to {b:.1f}.")
    a = median([r.pause_before for r in first if r.pause_before is not None])
    b = median([r.pause_before for r in second if r.pause_before is not None])
    if a is not None and b is not None and abs(b - a) >= 1:
        notes.append(f"Your pause before answering went from {a:.1f} s to {b:.1f} s.")
    return notes


def _findings(rows: list[DeliveryTurn], pace: float) -> list[tuple[str, list[int]]]:
    found: list[tuple[str, list[int]]] = []
    fast = [r.turn for r in rows if r.words_per_minute and r.words_per_minute > pace * (1 + PACE_TOLERANCE)]
    slow = [r.turn for r in rows if r.words_per_minute and r.words_per_minute < pace * (1 - PACE_TOLERANCE)]
    matched = [r.turn for r in rows if r.matched_pace]
    if matched:
        found.append(("You matched their pace", matched))
    if fast:
        found.append(("Faster than they speak", fast))
    if slow:
        found.append(("Slower than they speak", slow))
    if long := [r.turn for r in rows if r.pause_before is not None and r.pause_before >= LONG_PAUSE]:
        found.append((f"A pause of {LONG_PAUSE:.0f} s or more before answering", long))
    if filled := [r.turn for r in rows if r.fillers >= FILLERS_NOTED]:
        found.append((f"{FILLERS_NOTED} or more filler words", filled))
    if cut := [r.turn for r in rows if r.interrupted]:
        found.append(("You started before they had finished", cut))
    if flat := [r.turn for r in rows if r.monotone]:
        found.append(("Flat, monotone delivery", flat))
    return found
