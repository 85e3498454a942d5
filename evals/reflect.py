"""What a better learner turn says back to the persona: their most telling clause in the learner's words, or, when
they only asked something, the answer they are owed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from simulator.cues import content_words, find

from .clauses import Clause, clause_like, clauses, opens_with_verb
from .perspective import speaks_of_listener, to_listener
from .reported import reported

MAX_WORDS = 18  # a longer reflection stops sounding like listening and starts sounding like a transcript
_FEELING = re.compile(
    r"\b(?:feel\w*|felt|scared|afraid|worr\w+|anxious|nervous|angry|furious|annoyed|frustrat\w+|upset|sad|lonely|"
    r"alone|tired|exhausted|overwhelm\w*|stress\w*|hurt\w*|pain\w*|miss\w*|hate\w*|love\w*|lost|struggl\w+|hard|"
    r"difficult|tough|can't|cannot|guilt\w*|ashamed|embarrass\w+|fed up|sick of|cr(?:y|ies|ied|ying)|griev\w+|grief|"
    r"died|passed|gone|fault|confus\w+|stuck|hopeless|useless|worthless|fail\w*|behind|afford|expensive|wait\w*|"
    r"wasted|ignored|unfair|disappoint\w*|betray\w*|burn\w+|let down|blame\w*|broke|broken|mess|nightmare|"
    r"ruin\w*|terrif\w+|panic\w*|dread\w*|sorry|regret\w*|can't cope|no time|busy|should have|should've|"
    r"wish|if only|want|don't want|need|'d like|would like|on hold|nothing works|doesn't work|not working)\b",
    re.IGNORECASE)
_EFFORT = re.compile(
    r"\b(?:tried|trying|try|managed|(?:kept|keep)\s+(?:going|trying|at it|up)|started|stopped|quit|finished|"
    r"practi[cs]\w*|working|worked|saved|saving|cut (?:down|back)|learn\w*|studied|studying|walk\w*|exercis\w*|"
    r"look\w* after|car(?:e|ing) for|coped|coping|juggl\w+|handl\w+|stuck with|stayed|doing my best|been going|"
    r"checking|testing|logging)\b",
    re.IGNORECASE)
_SECOND_PERSON = re.compile(r"\b(?:you|your|you're|you've|yours|yourself)\b", re.IGNORECASE)
_REPORTED = re.compile(r"^you\s+(?:said|told|promised|asked|agreed|mentioned|offered)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|myself|we|we're|we've|our|us)\b")
_NEGATIVE_ORDER = re.compile(r"^(?:don't|do not|never)\s+", re.IGNORECASE)
_PROPER = re.compile(
    r"^(?:I|I'm|I've|I'd|I'll|Dr|Mr|Mrs|Ms|Mx|Prof|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
    r"January|February|March|April|May|June|July|August|September|October|November|December|Christmas|"
    r"[A-Z]{2,}\w*)\b")
# A pronoun that points back to an earlier sentence ("My dad was on it") makes a poorer reflection on its own.
_BACK_REFERENCE = re.compile(r"\b(?:it|them|this|that|those|these)\b(?!'s|\s+(?:is|was|has)\b)", re.IGNORECASE)
# Where a long clause's main part ends and what it adds begins.
_ADJUNCT = re.compile(r",\s+|\s+(?:while|because|but|when|which|since|after|until|although|though|so that|and)\s+")
_SUBORDINATE_START = re.compile(r"^(?:if|when|while|because|although|though|since|after|before|until|as)\b", re.I)
# A main clause still says what they meant without these ("Before you tell me ..., I want to talk about ..."); not
# without "if" or "unless" ("If you're going to ..., you'll not hurt my feelings").
_DROPPABLE = re.compile(r"^(?:when|while|although|though|since|after|before|even though)\b", re.I)
_SUBCLAUSE = re.compile(r",?\s+(?:and|but|because|so|when)\s+(?=(?:I|I'm|I've|we|we're|he|she|they|it|my|our)\b)")


# Words a said-back clause cannot start or end on without reading as broken ("It sounds like sorry, ...", "... and").
_BAD_START = frozenset(
    """if when can could would will do does did sorry please hi hello hey thanks thank just let's what why how okay
    ok and but because or so well oh yes no who which whom whose is are was were am of to by with for at in on from
    than like as""".split())
_BAD_END = frozenset(
    """and but or because if so of to the a an my your our their his her with for at in on from is are was were am
    that than like when who which whose I you're I'm we're don't can't won't very really just not by as dr mr mrs
    ms should could would will can might must shall do does did have has had""".split())
_PERSON = frozenset(("you", "I", "me"))
_SUBJECT_FORMS = frozenset(("you", "you're", "you've", "you'll", "I", "I'm", "I've", "I'll"))
_BROKEN_CAPITAL = re.compile(
    r"(?<!^)\b(?:Can|Could|Do|Does|Did|Is|Are|Was|Were|Let's|Okay|Ok|Thanks|Hi|Hello|Sorry|Why|What|How|Please|"
    r"You|You're|Your|Would|Will|My|We|Our|It|The|And|But)\b")


def sayable(text: str) -> bool:
    """Whether a said-back clause reads as one whole clause: no broken start or end, no stutter, no stray capital."""
    words = re.findall(r"[A-Za-z0-9']+", text)
    if len(words) < 2 or re.search(r"[?!;:\u2026\"\u201c\u201d]|\.\.|\s,|,\s*,|,$", text):
        return False
    if words[0].lower() in _BAD_START and not (
            words[0].lower() in ("if", "when") and ", " in text and len(text.split(", ")[0].split()) >= 3):
        return False
    if words[-1] in _BAD_END or words[-1].lower() in _BAD_END - {"i"}:
        return False
    pairs = list(zip(words, words[1:], strict=False))
    if any(a.lower() == b.lower() or (a in _PERSON and b in _SUBJECT_FORMS) for a, b in pairs):
        return False
    return not _BROKEN_CAPITAL.search(text)


@dataclass(frozen=True)
class Reply:
    """What to say back, by `kind`:
    - "reflect": `text` is their telling clause in the learner's words, lower-case start ("you're scared of ...");
    - "answer": they asked the learner to do something; `text` is doing it ("I'll send you the invoice number");
    - "advice": they asked what to do;
    - "rhetorical": they asked the world, not the learner ("Why me?");
    - "question": they asked something else; `text` is the question reported ("whether this is going to hurt") or "";
    - "greeting" (`text`: their name if they gave it), "thanks", "apology";
    - "unsaid": they said something, but not in words that can be said back safely; "empty": nothing to go on."""

    kind: str
    text: str = ""
    source: str = ""  # the persona's own words behind `text`
    concern: bool = False  # what they said is a worry
    feeling: bool = False  # ... or a feeling, a wish, or how they see the learner
    effort: bool = False  # ... or something they have been doing
    earlier: bool = False
    asked: str = ""  # "advice" or "question" when the turn also asks the learner something


def _lower_start(text: str, turn: str) -> str:
    """`text` with its first letter lower-cased unless the first word is a name ("Dr", "Tuesday", "NHS", "Priya")."""
    first = text.split()[0].strip(",")
    if _PROPER.match(first) or not first[:1].isupper():
        return text
    for match in re.finditer(rf"\b{re.escape(first)}\b", turn):
        if not re.search(r"(?:^|[.!?\n])[\s\"'(*]*$", turn[:match.start()]):
            return text  # capitalised mid-sentence too: a name
    return text[0].lower() + text[1:]


def _informative(text: str) -> bool:
    return bool(content_words(text)) or bool(_FEELING.search(text) and len(text.split()) >= 2)


def _wish(clause: Clause, turn: str) -> str | None:
    """A request said back as the persona's wish: "Just tell me the price" -> "you'd like me to tell you the price"."""
    negative = _NEGATIVE_ORDER.match(clause.action)
    action = to_listener(clause.action[negative.end():] if negative else clause.action)
    if not action:
        return None
    action = _lower_start(action, turn)
    if clause.permission:
        return f"you'd like {'not ' if negative else ''}to {action}"
    who = "us" if clause.us else "me"
    return f"you'd like {who} {'not ' if negative else ''}to {action}"


def _said_back(clause: Clause, turn: str) -> str | None:
    """A statement in the learner's words; what is said about the learner is framed as the persona's view."""
    if opens_with_verb(clause.text) or not clause_like(clause.text):
        return None
    shifted = to_listener(clause.text)
    if not shifted:
        return None
    shifted = _lower_start(shifted, turn)
    if not speaks_of_listener(clause.text):
        return shifted
    # "You said the promotion was mine" -> "you remember I said the promotion was yours"; "you never listen" -> "you
    # feel I never listen": what they hold against the learner is said back as theirs.
    return f"you remember {shifted}" if _REPORTED.match(clause.text) else f"you feel {shifted}"


@dataclass(frozen=True)
class _Candidate:
    text: str
    source: str
    score: float
    position: int


def _score(source: str, *, wish: bool = False, later: bool = False) -> float:
    score = 3.0 if find("concern_words", source) else 0.0
    score -= 0.5 if later and _BACK_REFERENCE.search(source) else 0.0
    score += 2.0 if _FEELING.search(source) else 0.0
    score += 1.0 if _FIRST_PERSON.search(source) else 0.0
    score -= 1.0 if speaks_of_listener(source) else 0.0
    score -= 0.5 if _SECOND_PERSON.search(source) else 0.0  # about the learner, not them
    score -= 0.5 if _SUBORDINATE_START.match(source) else 0.0  # the main clause alone says it more plainly
    score += 2.0 if wish else 0.0
    score += 0.25 * min(len(content_words(source)), 4)  # more of their own matter to say back
    return score - (1.0 if len(source.split()) > 16 else 0.0)


def _statements(clause: Clause) -> list[Clause]:
    """The statement, or, when it is too long to say back, its own shorter clauses and its main clause alone
    ("I've been juggling two jobs while looking after my mum and ..." -> "I've been juggling two jobs")."""
    if len(clause.text.split()) <= MAX_WORDS and not _DROPPABLE.match(clause.text):
        return [clause]
    if len(clause.text.split()) <= MAX_WORDS and ", " in clause.text and _DROPPABLE.match(clause.text):
        return [clause, Clause(clause.text.split(", ", 1)[1], "statement", clause.sentence)]
    parts = [p.strip(" ,") for p in _SUBCLAUSE.split(clause.text)]
    if _DROPPABLE.match(clause.text) and ", " in clause.text:
        parts.append(clause.text.split(", ", 1)[1])  # the main clause without its "before you tell me ..."
    head = _ADJUNCT.split(clause.text, maxsplit=1)[0].strip(" ,")
    if 4 <= len(head.split()) <= MAX_WORDS and head not in parts and not _SUBORDINATE_START.match(head):
        parts.append(head)
    return [Clause(p, "statement", clause.sentence) for p in parts if 2 <= len(p.split()) <= MAX_WORDS]


def _candidates(turn: str, found: list[Clause] | None = None) -> list[_Candidate]:
    found = clauses(turn) if found is None else found
    out: list[_Candidate] = []
    reasons: set[int] = set()
    for i, clause in enumerate(found):
        if clause.kind != "request" or not (wish := _wish(clause, turn)):
            continue
        # The reason for a request is said with it, or right after a polite one ("Can you explain it again? I didn't
        # get it the first time.").
        # An order's reason is only trusted in the same sentence ("Come in. Place is a tip." gives none).
        nearby = [k for k in (i + 1, i - 1) if 0 <= k < len(found) and found[k].kind == "statement"
                  and found[k].sentence in (clause.sentence, clause.sentence + (k > i and clause.polite))
                  and _informative(found[k].text)]
        reason = next(((k, _lower_start(said, turn)) for k in nearby if (said := to_listener(found[k].text))), None)
        combined = f"{wish} because {reason[1]}" if reason is not None else ""
        if combined and len(combined.split()) <= MAX_WORDS + 2 and sayable(combined):
            reasons.add(reason[0])
            source = f"{clause.text}, {found[reason[0]].text}"
            out.append(_Candidate(combined, source, _score(source, wish=True), i))
        elif not clause.polite and len(wish.split()) <= MAX_WORDS and sayable(wish):
            out.append(_Candidate(wish, clause.text, _score(clause.text, wish=True), i))
    for i, clause in enumerate(found):
        if clause.kind != "statement" or i in reasons:
            continue
        for part in _statements(clause):
            said = _said_back(part, turn) if _informative(part.text) else None
            if said and len(said.split()) <= MAX_WORDS + 2 and sayable(said):
                out.append(_Candidate(said, part.text, _score(part.text, later=part.sentence > 0), i))
    return out


def _answer(found: list[Clause], turn: str) -> Reply | None:
    """The reply owed to a turn that only asks: do what they asked, or take their question seriously."""
    for clause in found:
        if clause.kind == "request":
            negative = _NEGATIVE_ORDER.match(clause.action)
            action = to_listener(clause.action[negative.end():] if negative else clause.action)
            if action and not clause.us and sayable(action):
                action = _lower_start(action, turn)
                if clause.permission:
                    return Reply("answer", f"you can{'not' if negative else ''} {action}", clause.text)
                return Reply("answer", f"I won't {action}" if negative else f"I'll {action}", clause.text)
    questions = [c for c in found if c.kind == "question"]
    if any(c.advice for c in questions):
        return Reply("advice", source=next(c.text for c in questions if c.advice))
    if questions and questions[-1].rhetorical:
        return Reply("rhetorical", source=questions[-1].text)
    if questions:
        said = reported(questions[-1].text)
        return Reply("question", said if said and sayable(said) else "", questions[-1].text)
    return None


_VIEWS = ("you feel ", "you'd like ", "you remember ")  # said back as their feeling, wish or memory


def _reflection(best: _Candidate, *, asked: str = "", earlier: bool = False) -> Reply:
    return Reply(
        "reflect", best.text, best.source, concern=bool(find("concern_words", best.source)),
        feeling=bool(_FEELING.search(best.source)) or best.text.startswith(_VIEWS),
        effort=bool(_FIRST_PERSON.search(best.source) and _EFFORT.search(best.source)), earlier=earlier, asked=asked)


def reply_to(turn: str, earlier: Iterable[str] = ()) -> Reply:
    """What the better turn should say back to `turn` (the persona's last words; `earlier` their turns before it,
    most recent first), as a Reply."""
    found = clauses(turn)
    candidates = _candidates(turn, found)
    if candidates:
        best = max(candidates, key=lambda c: (c.score, c.position))
        last = found[-1] if found else None
        asked = ("advice" if last.advice else "question") if last is not None and last.kind == "question" else ""
        return _reflection(best, asked=asked)
    if (answer := _answer(found, turn)) is not None:
        return answer
    for before in earlier:
        if before and (older := _candidates(before)):
            return _reflection(max(older, key=lambda c: (c.score, c.position)), earlier=True)
    if any(c.kind == "statement" and _informative(c.text) for c in found):
        return Reply("unsaid")
    kinds = [c.kind for c in found]
    for kind in ("apology", "thanks", "greeting"):
        if kind in kinds:
            return Reply(kind, next((c.name for c in found if c.name), ""))
    return Reply("empty")
