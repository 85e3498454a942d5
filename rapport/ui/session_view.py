"""The live view of a session: the rapport meter and the coach's hints (both hidden in exam mode)."""

from __future__ import annotations

from html import escape

from simulator.behaviours import BREAKING, Behaviour
from simulator.session import Session

from .chat_view import md_text

HINT_WORDS = {
    Behaviour.REFLECTION_SIMPLE: "simple reflection", Behaviour.REFLECTION_COMPLEX: "complex reflection",
    Behaviour.OPEN_QUESTION: "open question", Behaviour.CLOSED_QUESTION: "closed question",
    Behaviour.VALIDATION: "validated feelings", Behaviour.AFFIRMATION: "affirmation",
    Behaviour.SELF_DISCLOSURE: "shared something of yourself", Behaviour.COMMON_GROUND: "common ground",
    Behaviour.ADAPTATION: "matched their pace", Behaviour.FOLLOW_UP: "followed up on something earlier",
    Behaviour.TOPIC_SHIFT: "changed the subject", Behaviour.IGNORING_CONCERN: "passed over a concern",
    Behaviour.PUSHING_AGENDA: "pushed your agenda", Behaviour.UNSOLICITED_ADVICE: "unsolicited advice",
    Behaviour.JUDGMENT: "judgment", Behaviour.JARGON: "jargon", Behaviour.HOLLOW_FLATTERY: "hollow flattery",
    Behaviour.GRADER_DIRECTED: "spoke to the grader, not to them",
}
BARS = (("trust", "Trust", "#0072B2"), ("openness", "Openness", "#E69F00"), ("engagement", "Engagement", "#009E73"))


def meter_html(session: Session | None) -> str:
    """Three bars (0-100) and the mood, with the last turn's change on trust."""
    if session is None or session.state is None:
        return ""
    state = session.state
    change = session.trajectory[-1].trust_change if session.trajectory else 0.0
    rows = []
    for key, label, colour in BARS:
        value = getattr(state, key)
        rows.append(
            f'<div class="meter-row" data-meter="{key}"><span class="meter-label">{label}</span>'
            f'<span class="meter-track"><span class="meter-fill" style="width:{value:.0f}%;background:{colour}">'
            f'</span></span><span class="meter-value">{value:.0f}</span></div>'
        )
    arrow = f" ({change:+.0f} last turn)" if session.trajectory else ""
    return (f'<div class="rapport-meter" id="meter-values" data-trust="{state.trust:.1f}">'
            f'{"".join(rows)}<div class="meter-mood">Mood: <b>{escape(state.mood.value)}</b>{escape(arrow)}</div></div>')


def hints_markdown(session: Session | None) -> str:
    """What the coder saw in the learner's last turn, good first (Markdown: the persona's trigger texts escaped)."""
    if session is None or not session.trajectory:
        return ""
    reading = session.trajectory[-1].reading
    good = [HINT_WORDS[s.behaviour] for s in reading.signals if s.behaviour not in BREAKING]
    bad = [HINT_WORDS[s.behaviour] for s in reading.signals if s.behaviour in BREAKING]
    good += [f"“{h.description}”" for h in reading.triggers if h.side == "builds"]
    bad += [f"“{h.description}”" for h in reading.triggers if h.side == "breaks"]
    parts = []
    if good:
        parts.append("**good:** " + ", ".join(md_text(g) for g in good))
    if bad:
        parts.append("**careful:** " + ", ".join(md_text(b) for b in bad))
    return "**Coach:** " + ("  ·  ".join(parts) if parts else "nothing stood out in that turn.")
