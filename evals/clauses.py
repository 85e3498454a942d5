"""A persona's turn read as whole clauses, each marked with what it does: greets, thanks, apologises, fills, asks,
asks the learner to do something, or says something."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from simulator.cues import find

Kind = str  # "statement", "question", "request", "greeting" (or introduction), "thanks", "apology" or "filler"

_STAGE = re.compile(r"\*[^*]*\*|\[[^\]]*\]")
_ABBREVIATIONS = re.compile(r"\b(Dr|Mr|Mrs|Ms|Mx|St|Prof|vs|etc|approx|e\.g|i\.e)\.", re.IGNORECASE)
_DOT = "\u2024"  # stands in for an abbreviation's dot while sentences are split
_SENTENCES = re.compile(r"(?<=[.!?\u2026])[\"')\u201d]*\s+")
# Where one clause ends and another may begin inside a sentence.
_PIECES = re.compile(r"\s*[,;:]\s+|\s+[-\u2014\u2013]+\s+|\s*[\u2014\u2013]\s*|\.\.\.\s*|\u2026\s*")
_SUBJECT = r"(?:I|I'm|I've|I'd|I'll|we|we're|we've|he|she|they|they're|it's|there's|my|our|his|her|their)"
_CONJUNCTION_SPLIT = re.compile(rf"\s+(?=(?i:but)\s+{_SUBJECT}\b)")
_LEADING_CONJUNCTION = re.compile(r"^(?:(?:and|but|so|because|cos|cause|or|plus|then|though)\b\s*)+", re.IGNORECASE)
_FILLER_WORDS = (
    r"ok|okay|well|right|yeah|yes|yep|no|nope|nah|um+|uh+|erm+|hmm+|mm+|oh|ah|look|listen|honestly|anyway|so|fine|"
    r"sure|alright|please|i see|i guess|i mean|you know|i suppose|to be honest|to be fair|i don't know|dunno|i know|"
    r"whatever|exactly|true|maybe|perhaps|i think so|i suppose so|not really|of course|fair enough|that's fine|"
    r"good|great|wow|god|gosh|man|mate|seriously|really|actually|basically|like|i mean it|and|but|then|now|"
    r"the thing is|the truth is|thing is|to be honest with you|if i'm honest|you see|go on|go on then|come in|"
    r"come on in|come on|sit|sit down|take a seat|have a seat|fire away|shoot|go ahead|carry on|love|pet|dear|hun|"
    r"sweetheart|doctor|doc|sir|madam|miss|mate|pal|son|guys"
)
_FILLER = re.compile(rf"^(?:{_FILLER_WORDS})(?:\s+(?:{_FILLER_WORDS}))*$", re.IGNORECASE)
_LEADING_FILLER = re.compile(
    r"^(?:(?:(?:ok|okay|well|yeah|um+|uh+|erm+|hmm+|oh|ah|honestly|anyway|look|listen|so)\b[,.!]?|right[,.!])\s+)+",
    re.IGNORECASE)
_GREETING = re.compile(
    r"^(?:hi|hello|hey|hiya|morning|good (?:morning|afternoon|evening)|(?:nice|pleased|good) to meet you|"
    r"how are you(?: doing| today)?|how's it going|thanks for (?:having|seeing|meeting) me)\b", re.IGNORECASE)
_THANKS = re.compile(r"^(?:thanks|thank you|cheers|much appreciated)\b", re.IGNORECASE)
_APOLOGY = re.compile(
    r"^(?:(?:I'm|I am)\s+(?:so\s+|really\s+|very\s+|terribly\s+)?sorry|sorry|apologies|I apologi[sz]e|"
    r"excuse me|pardon(?: me)?)\b(?:\s+(?:that|but))?\s*", re.IGNORECASE)
# An apology to the learner (for the wait, for bothering them) says nothing about the persona's situation.
_APOLOGY_TO_LEARNER = re.compile(
    r"^(?:to\s+(?:bother|keep|interrupt|trouble)|for\s+(?:the|that|this|being|keeping|bothering|my|interrupting)|"
    r"about\s+(?:that|this|the)|if\s+I|I'm\s+late)\b", re.IGNORECASE)
# What a learner can be asked to do; other verbs after "can you" ("believe", "imagine") are not requests.
_REQUEST_VERBS = (
    r"send|give|tell|show|explain|email|e-mail|call|ring|phone|check|look|help|sort|fix|cancel|refund|book|arrange|"
    r"change|find|get|bring|go|leave|stop|wait|come|hurry|slow|speed|repeat|write|put|take|move|let|talk|speak|"
    r"answer|walk|hold|print|forward|confirm|update|contact|reschedule|pass|hand|read|transfer|make|listen|"
    r"give|keep|calm|hang|skip|drop|be|try|think|stay|finish|sign|start|visit|text|reply|respond"
)
_POLITE_REQUEST = re.compile(
    rf"^(?:can|could|will|would)\s+you\s+(?:please\s+)?(?:just\s+)?(?P<action>(?:{_REQUEST_VERBS})\b.*)$",
    re.IGNORECASE)
_PERMISSION = re.compile(
    rf"^(?:can|could|may)\s+I\s+(?:please\s+)?(?:just\s+)?(?P<action>(?:{_REQUEST_VERBS}|ask|have|see)\b.*)$",
    re.IGNORECASE)
# "I'm Priya from accounts": an introduction, answered with a greeting.
_INTRODUCTION = re.compile(r"^(?:I'm|I am|my name's|my name is|this is)\s+(?P<name>[A-Z][a-z]+)\b(?:\s+from\b.*)?$")
_WISH_REQUEST = re.compile(
    rf"^(?:I|we)(?:\s+(?:just\s+|really\s+)?(?:need|want|would like)|'d\s+(?:really\s+)?like)\s+you\s+to\s+"
    rf"(?:please\s+)?(?:just\s+)?"
    rf"(?P<action>(?:{_REQUEST_VERBS})\b.*)$", re.IGNORECASE)
_IMPERATIVE = re.compile(
    rf"^(?:please\s+|just\s+|now\s+)*(?P<action>(?:don't|do not|never|stop|{_REQUEST_VERBS})\b.*)$", re.IGNORECASE)
# "Change is hard", "Help costs money": a verb-like first word followed by a verb is a noun, not an order.
_NOT_ORDER = re.compile(r"^\S+\s+(?:is|are|was|were|has|had|have|keeps|makes|costs|seems|takes|can|could|will|would|"
                        r"never|always|'s)\b", re.IGNORECASE)
_LETS = re.compile(r"^(?:please\s+|just\s+)*let's\s+(?:just\s+)?(?P<action>\w.*)$", re.IGNORECASE)
_AUX = (
    r"can|could|would|will|do|does|did|are|is|am|was|were|have|has|had|should|shall|may|might|must|won't|wouldn't|"
    r"can't|couldn't|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|haven't|hasn't|shouldn't"
)
_QUESTION_FORM = re.compile(
    rf"^(?:(?:{_AUX})\s+(?:you|i|we|it|they|he|she|this|that|there|anyone|anything|my|your|the)\b|"
    rf"(?:what|why|how|who|whom|whose|when|where|which)(?:'s|'re|\s+(?:else|much|many|long|often|come|"
    rf"on earth|exactly))?(?:\s+(?:{_AUX}|cares|matters|happens|happened|'s)\b|'s\b)|"
    rf"how\s+come\b|what\s+if\b|isn't it|aren't you|right$)", re.IGNORECASE)
# A piece that can stand alone as a clause starts with a subject and has a verb in it.
_NOT_A_SUBJECT = re.compile(
    r"^(?:about|after|before|with|without|for|from|into|onto|over|under|at|on|in|of|by|to|than|like|as|since|until|"
    r"during|through|across|around|against|between|except|just|also|only|even|very|really|too)\b", re.IGNORECASE)
_SUBJECT_START = re.compile(
    r"^(?:(?:right now|now|today|lately|recently|these days|at the moment|honestly|frankly|to be honest|and then|"
    r"then|still|sometimes|maybe|probably|obviously|clearly)\s+)?"
    r"(?:I|I'm|I've|I'd|I'll|me|my|we|we're|we've|we'd|our|us|you|you're|you've|your|he|he's|she|she's|his|her|"
    r"it|it's|its|they|they're|they've|their|there|there's|this|that|that's|these|those|the|a|an|nobody|no one|"
    r"everyone|everybody|someone|somebody|everything|everything's|nothing|nothing's|something|all|both|none|some|"
    r"most|each|every|one|two|three|[A-Z][a-z]+|\d+)\b")
_VERB = re.compile(
    r"\b(?:is|are|was|were|am|be|been|being|have|has|had|do|does|did|can|could|will|would|should|shall|might|must|"
    r"may|feel|feels|think|thinks|know|knows|want|wants|need|needs|get|gets|got|go|goes|went|make|makes|take|takes|"
    r"come|comes|say|says|said|keep|keeps|kept|seem|seems|hate|hates|love|loves|like|likes|cry|cries|work|works|"
    r"try|tries|miss|misses|cost|costs|sleep|sleeps|eat|eats|pay|pays|hurt|hurts|help|helps|start|starts|stop|"
    r"stops|wait|waits|leave|leaves|left|tell|tells|told|see|sees|saw|lost|lose|felt|thought|knew|made|took|came|"
    r"gave|give|run|ran|sent|spent|paid|won't|can't|cannot|don't|doesn't|didn't|isn't|aren't|wasn't|weren't|"
    r"haven't|hasn't|hadn't|shouldn't|wouldn't|couldn't|\w+ed|\w+'(?:m|s|re|ve|d|ll))\b", re.IGNORECASE)
_PERSONAL = frozenset("i you we they he she".split())
_POSSESSIVE_NAME = re.compile(r"(?!(?:It|That|There|He|She|What|Here|Who|Where)'s)[A-Z][a-z]+'s")
_SUBORDINATE = re.compile(
    r"^(?:if|when|whenever|although|though|even though|even if|since|while|unless|after|before|until|once|as soon as|"
    r"whereas|every time)\b", re.IGNORECASE)
_RELATIVE = re.compile(r"^(?:who|which|whose|where|whom)\b", re.IGNORECASE)
_ADVICE = re.compile(
    r"\b(?:should I|I should do|what (?:do|would|should) (?:you|I) (?:suggest|recommend|do)|what (?:else )?can I do|"
    r"what do I do|any (?:advice|suggestions|ideas|tips))\b", re.IGNORECASE)
_RHETORICAL = re.compile(
    r"^(?:why\b(?!.*\byou\b).*\b(?:me|my|I|us|our|him|her|them)\b|why (?:me|us|him|her)|"
    r"what(?:'s| is) the (?:point|use)|who cares|how could (?:he|she|they|this|it)|what did I do to deserve)",
    re.IGNORECASE)
_TRAILING = re.compile(r"[\s.,;:!?\u2026\"'\u201d\u201c)(-]+$")


@dataclass(frozen=True)
class Clause:
    """One clause of a persona's turn; `action` is what a request asks the learner to do."""

    text: str
    kind: Kind
    sentence: int
    action: str = ""
    polite: bool = False  # asked as a question or with "please"
    us: bool = False  # "let's ...": the persona and the learner together
    to_learner: bool = False  # a question that asks about the learner ("do you ...", "your ...")
    advice: bool = False  # a question asking the learner what to do
    rhetorical: bool = False  # a question to the world, not the learner ("Why me?", "What's the point?")
    permission: bool = False  # a request to do something themselves ("Can I speak to your manager?")
    name: str = ""  # the persona's name, when the clause introduces them


def sentences(turn: str) -> list[str]:
    """The sentences of a turn, without stage directions (*sighs*), keeping abbreviations ("Dr.") whole."""
    text = _STAGE.sub(" ", turn.replace("\u2019", "'").replace("\u2018", "'"))
    out = []
    for line in text.splitlines():
        line = _ABBREVIATIONS.sub(lambda m: m.group(1) + _DOT, " ".join(line.split()))
        out += [s.replace(_DOT, ".").strip() for s in _SENTENCES.split(line) if s and s.strip(" \"'")]
    return out


def clause_like(piece: str) -> bool:
    """Whether the piece can stand as a clause: it starts with something that can be a subject and has a verb
    ("If I take it, I get headaches" by its main clause; "Yasmin's dad" has no verb, only a possessive)."""
    if _SUBORDINATE.match(piece) and ", " in piece:
        piece = piece.split(", ", 1)[1]
    if not _SUBJECT_START.match(piece) or _NOT_A_SUBJECT.match(piece) or len(piece.split()) < 2:
        return False
    words = piece.split()
    if words[0].lower() in _PERSONAL:  # "You never listen", "They kept promising": a pronoun is always a subject
        return True
    possessive = bool(_POSSESSIVE_NAME.fullmatch(words[0])) and len(words) <= 2  # "Yasmin's dad", not "Mum's in bed"
    return any(m.start() > 0 or not possessive for m in _VERB.finditer(piece))


def _classified(piece: str) -> bool:
    return bool(_FILLER.match(piece) or _GREETING.match(piece) or _THANKS.match(piece) or _APOLOGY.match(piece)
                or _QUESTION_FORM.match(piece) or _POLITE_REQUEST.match(piece) or _IMPERATIVE.match(piece)
                or _LETS.match(piece))


def _pieces(sentence: str) -> list[str]:
    """The sentence cut where a new clause starts; fragments ("My son", "who is 12") stay with their clause."""
    raw = [p.strip(" \"'") for part in _PIECES.split(sentence) for p in _CONJUNCTION_SPLIT.split(part)]
    raw = [p for p in raw if p and not _TRAILING.fullmatch(p)]
    out: list[str] = []
    carry = ""  # a subordinate piece waiting for its main clause
    for piece in raw:
        piece = _TRAILING.sub("", piece)
        bare = _LEADING_CONJUNCTION.sub("", piece)
        if not bare.strip():  # a conjunction left hanging ("I've tried everything, and...")
            continue
        if not carry and _SUBORDINATE.match(bare) and not _QUESTION_FORM.match(bare):
            carry = piece
            continue
        if carry and _FILLER.match(bare):  # "when I got the news, you know": the clause stands without it
            out.append(carry)
            carry = ""
        if carry:
            piece, carry = f"{carry}, {piece}", ""
            bare = _LEADING_CONJUNCTION.sub("", piece)
        standalone = clause_like(bare) or _classified(bare)
        if out and (_RELATIVE.match(piece) or not standalone) and not _FILLER.match(out[-1]):
            out[-1] = f"{out[-1]}, {piece}"
        else:
            out.append(piece)
    if carry:
        if out and not _classified(out[-1]):
            out[-1] = f"{out[-1]}, {carry}"
        else:
            out.append(carry)
    return out


def _kind_of(text: str, last: bool, asked: bool) -> Clause | None:
    """The clause `text` with its kind; `last` and `asked`: it ends a sentence that ends with "?"."""
    if _FILLER.match(text):
        return Clause(text, "filler", 0)
    if _GREETING.match(text) and len(text.split()) <= 6:
        return Clause(text, "greeting", 0)
    if (introduction := _INTRODUCTION.match(text)) is not None and introduction.group("name") not in ("Sorry",):
        return Clause(text, "greeting", 0, name=introduction.group("name"))
    if _THANKS.match(text):
        return Clause(text, "thanks", 0)
    if (apology := _APOLOGY.match(text)) is not None:
        rest = text[apology.end():]
        if len(rest.split()) < 3 or _APOLOGY_TO_LEARNER.match(rest):
            return Clause(text, "apology", 0)
        return Clause(text, "statement", 0)
    for pattern, polite in ((_POLITE_REQUEST, True), (_WISH_REQUEST, False)):
        if (request := pattern.match(text)) is not None:
            return Clause(text, "request", 0, action=_TRAILING.sub("", request.group("action")), polite=polite)
    if (permission := _PERMISSION.match(text)) is not None:
        return Clause(text, "request", 0, action=_TRAILING.sub("", permission.group("action")), polite=True,
                      permission=True)
    if (lets := _LETS.match(text)) is not None:
        return Clause(text, "request", 0, action=_TRAILING.sub("", lets.group("action")), us=True)
    if (asked and last) or _QUESTION_FORM.match(text):
        to_learner = bool(re.search(r"\b(?:you|your|you're|you've|yourself)\b", text, re.IGNORECASE))
        return Clause(text, "question", 0, to_learner=to_learner,
                      advice=bool(find("asked_for_advice", text) or _ADVICE.search(text)),
                      rhetorical=bool(_RHETORICAL.match(text)))
    if (order := _IMPERATIVE.match(text)) is not None and not _NOT_ORDER.match(text):
        return Clause(text, "request", 0, action=_TRAILING.sub("", order.group("action")))
    return Clause(text, "statement", 0)


def opens_with_verb(text: str) -> bool:
    """Whether the clause starts on a verb, so its subject was left out ("Said he'd call", "Tried that")."""
    first = text.split()[0].lower().strip(",.;:!?") if text.split() else ""
    return "'" not in first and bool(_VERB.fullmatch(first))


def clauses(turn: str) -> list[Clause]:
    """Every clause of the turn, in order, with leading fillers and conjunctions taken off."""
    out = []
    for number, sentence in enumerate(sentences(turn)):
        asked = bool(re.search(r"\?[?!.\"')\u201d\s]*$", sentence))
        pieces = _pieces(sentence)
        for k, piece in enumerate(pieces):
            text = _TRAILING.sub("", _LEADING_FILLER.sub("", _LEADING_CONJUNCTION.sub("", piece)))
            text = _LEADING_CONJUNCTION.sub("", text).strip()
            if not text:
                continue
            clause = _kind_of(text, k == len(pieces) - 1, asked)
            polite = clause.polite or bool(re.search(r"\bplease\b", sentence, re.IGNORECASE))
            out.append(replace(clause, sentence=number, polite=polite and clause.kind == "request"))
    return out
