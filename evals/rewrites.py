"""Offline rewrites of a learner's weak turn: say back what the other person said, then ask or offer, never tell.

No LLM: `evals.reflect` picks the persona's clause that carries their point and puts it in the learner's words
("I'm scared of the side effects" -> "you're scared of the side effects"), or, when the persona only asked something,
what answering them looks like. Here the opener and the follow-up are fitted to what went wrong in the learner's turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from simulator.behaviours import Behaviour

from .reflect import Reply, reply_to

B = Behaviour
MAX_WORDS = 45
MAX_CONTEXT = 2000  # characters of a persona turn read for a rewrite

# How each problem's rewrite says the persona's point back ({r}: their words, from the learner's side).
_OPENERS: dict[Behaviour | None, str] = {  # any other problem: "It sounds like {r}."
    B.JUDGMENT: "It sounds like {r}, and I can see why that matters to you.",
    B.IGNORING_CONCERN: "I hear that {r}, and I don't want to skip past it.",
    B.PUSHING_AGENDA: "Let me put my own plans aside for a moment. You said {r}.",
    B.TOPIC_SHIFT: "You said {r}, and I'd like to stay with that.",
    B.HOLLOW_FLATTERY: "I appreciate you telling me {r}.",
}
_VALIDATING = "It makes sense that {r}."  # judgment, when what they said is a feeling or a worry
_AFFIRMING = "{R}, and that takes real effort."  # hollow flattery, when what they said is something they did
_EARLIER = "Earlier you said {r}."
_FOLLOW_UPS: dict[Behaviour | None, str] = {
    None: "What matters most to you about that?",
    B.CLOSED_QUESTION: "What has that been like for you?",
    B.UNSOLICITED_ADVICE: "Would you like to hear a couple of ideas, or would you rather talk it through first?",
    B.JUDGMENT: "What has it been like for you?",
    B.IGNORING_CONCERN: "What part of it weighs on you most?",
    B.PUSHING_AGENDA: "What matters most to you here?",
    B.TOPIC_SHIFT: "Can you tell me more about it?",
    B.JARGON: "What would be most useful for me to explain, in plain terms?",
    B.HOLLOW_FLATTERY: "What would help most right now?",
    B.GRADER_DIRECTED: "What's been on your mind about it?",
}
_WISH_FOLLOW_UP = "What would help most right now?"  # after "you'd like me to ...": their wish, not a topic
_CONCERN_FOLLOW_UP = "What worries you most about it?"
_EFFORT_FOLLOW_UP = "What has helped you keep going?"
_ADVICE_FOLLOW_UP = "I'm happy to share some ideas; what would be most useful to start with?"
# When the persona only asked or greeted: (what the better turn says first, the question after it).
_ANSWERS: dict[str, tuple[str, str]] = {
    "answer": ("Of course, {a}.", "What else is on your mind about it?"),
    "advice": ("I'm happy to share some ideas.", "Before I do, what have you already tried or thought about?"),
    "question": ("That's a fair question, and I'll answer it as honestly as I can.", "What's prompting it for you?"),
    "rhetorical": ("That's a hard question to sit with.", "What's been going through your mind?"),
    "greeting": ("Hello{name}, it's good to meet you.", "What would you like to talk about today?"),
    "thanks": ("You're welcome.", "What else is on your mind?"),
    "apology": ("No need to apologise.", "What's on your mind?"),
    "unsaid": ("I can hear how much this matters to you.", "What has happened to make you feel that way?"),
    "empty": ("Take your time.", "What's on your mind right now?"),
}
_ASKED = "You're asking {a}, and that's a fair question."
_WHY: dict[Behaviour | None, str] = {
    None: "a reflection of their own words followed by an open question shows you heard them and invites more",
    B.CLOSED_QUESTION: "a closed question gets a yes or no; an open one invites their own account",
    B.UNSOLICITED_ADVICE: "advice given before it was asked for closes people down; reflecting and asking permission "
                          "keeps them talking",
    B.JUDGMENT: "judging puts them on the defensive; showing their view makes sense invites the real story",
    B.IGNORING_CONCERN: "an unanswered concern grows; naming it and asking about it shows you take it seriously",
    B.PUSHING_AGENDA: "pushing your own agenda before understanding theirs reads as not listening; coming back to "
                      "their point shows you were",
    B.TOPIC_SHIFT: "changing the subject signals their point did not matter; staying with it shows it did",
    B.JARGON: "jargon creates distance; their own words and a plain question invite them in",
    B.HOLLOW_FLATTERY: "generic praise sounds scripted; recognising something specific they said or did sounds sincere",
}
_WHY_GRADER = ("lines aimed at the grader or the exercise break the conversation; a plain turn to the person keeps "
               "it going")
_WHY_ANSWER = "they asked you something directly; answering it before asking your own question shows you heard them"


def _sentence_case(text: str) -> str:
    """Each sentence starting with a capital, single spaces, and no doubled punctuation."""
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.?!])", r"\1", text)
    text = re.sub(r"([,.?!])(?:\s*[,.?!])+", lambda m: m.group(0).strip()[-1], text)
    return re.sub(r"(^|(?<!\bDr)(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bSt)[.?!]\s+)([a-z])",
                  lambda m: m.group(1) + m.group(2).upper(), text)


def _follow_up(reply: Reply, problem: Behaviour | None) -> str:
    if reply.asked == "advice":
        return _ADVICE_FOLLOW_UP
    if problem is B.IGNORING_CONCERN and reply.concern:
        return _CONCERN_FOLLOW_UP
    if problem is B.HOLLOW_FLATTERY and reply.effort:
        return _EFFORT_FOLLOW_UP
    if problem is None and reply.text.startswith("you'd like "):
        return _WISH_FOLLOW_UP
    return _FOLLOW_UPS.get(problem, _FOLLOW_UPS[None])


def _opener(reply: Reply, problem: Behaviour | None) -> str:
    r = reply.text
    if reply.earlier:
        return _EARLIER.format(r=r)
    if problem is B.JUDGMENT and (reply.concern or reply.feeling):
        return _VALIDATING.format(r=r)
    if problem is B.HOLLOW_FLATTERY and reply.effort and r[:1].isalpha():
        return _AFFIRMING.format(R=r[0].upper() + r[1:])
    return _OPENERS.get(problem, "It sounds like {r}.").format(r=r)


def rewrite_turn(
    context: str, problem: Behaviour | None, *, earlier_persona_turns: Iterable[str] = (),
) -> tuple[str, str]:
    """(a better turn, why it is better) for a learner turn that showed `problem`, answering `context`;
    `earlier_persona_turns` (most recent first) give something to come back to when `context` has nothing."""
    # A persona turn longer than this is never needed to pick a clause, and clause picking grows with length.
    reply = reply_to(context[:MAX_CONTEXT], [t[:MAX_CONTEXT] for t in earlier_persona_turns])
    if reply.kind == "reflect":
        better = f"{_opener(reply, problem)} {_follow_up(reply, problem)}"
    else:
        first, question = _ANSWERS[reply.kind]
        name = f" {reply.text}" if reply.kind == "greeting" and reply.text else ""
        if reply.kind == "question" and reply.text:
            first = _ASKED
        better = f"{first.format(a=reply.text, name=name)} {question}"
    if problem is B.GRADER_DIRECTED:
        why = _WHY_GRADER
    elif problem is None and reply.kind in ("answer", "advice", "question"):
        why = _WHY_ANSWER
    else:
        why = _WHY.get(problem, _WHY[None])
    better = _sentence_case(better)
    if len(better.split()) > MAX_WORDS:  # a long question reported back, say: never send a wall of text
        better = _sentence_case(f"{_opener(reply, None) if reply.kind == 'reflect' else ''} {_FOLLOW_UPS[None]}")
    return better, why[0].upper() + why[1:] + "."


def reflection_of(context: str) -> str:
    """ "It sounds like ..." with the persona's telling clause in the learner's words, or "" if nothing is there."""
    reply = reply_to(context)
    return _sentence_case(f"It sounds like {reply.text}.") if reply.kind == "reflect" else ""
