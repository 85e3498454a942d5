"""Named checks on a persona reply before it is stored: the known ways small local models slip (issue 25, item 5).

`repair` makes the clean-ups that never need a new generation; `slips` names the guards that still fire on the
repaired text, in registry order, so the caller can regenerate, fall back or just log. Pure regex and string work.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from .fidelity import clean_reply
from .persona.spec import PersonaSpec


@dataclass(frozen=True)
class ReplyContext:
    """What a reply is judged against."""

    persona: PersonaSpec
    learner_text: str = ""  # the learner message this reply answers ("" before the first)
    earlier_replies: list[str] = field(default_factory=list)  # the persona's earlier replies, oldest first


Guard = Callable[[str, ReplyContext], bool]
GUARDS: dict[str, Guard] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    """Register a check under `name`; registration order is the order `slips` reports in."""

    def register(check: Guard) -> Guard:
        GUARDS[name] = check
        return check

    return register


def slips(text: str, ctx: ReplyContext) -> list[str]:
    """Names of the guards that fire on `text` (already repaired), in registry order."""
    return [name for name, check in GUARDS.items() if check(text, ctx)]


# --- shared text helpers ---------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_DIRECTION = re.compile(r"\*[^*]*\*")
_NAME = r"([^\W\d_][\w'’-]*)(?![\w'’-])"  # a word; callers keep it only when capitalised
_STOP = frozenset(
    "a an the and or but if so to of in on at by for with from about as into than then that this these those "
    "it its it's is are was were be been being am do does did done have has had having i i'm i've i'd i'll me my "
    "mine you you're you've your yours he him his she her they them their we us our what which who whom how why "
    "when where there here not no yes just very really too also can could would should will shall may might must "
    "oh okay ok well any some all".split()
)
COPY_RUN = 8  # words in a row taken verbatim from another turn: never chance
COPY_SHARE = 0.7  # of the other turn's content words, in the same order, that make a reply a near-copy
COPY_DOMINANCE = 0.5  # ...and of the reply's own content words: a long answer that quotes a question is an answer
MIN_CONTENT = 3  # fewer content words than this in the other turn and overlap means nothing ("Yes, the tablets.")
MAX_WORDS = 200  # words compared per turn: bounded work on any input
EARLIER_CHECKED = 30  # earlier replies compared against; a repeat older than that is no longer a loop


def _fold(text: str) -> str:
    """Lower-case without accents, so 'Wojcik' is 'Wójcik'."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()


def _words(text: str) -> list[str]:
    return _WORD.findall(_fold(_DIRECTION.sub(" ", text)).replace("’", "'"))[:MAX_WORDS]


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in _STOP]


def _opening(text: str) -> str | None:
    """The stage direction a reply opens with, lower-cased with whitespace normalised."""
    m = re.match(r"\s*\*([^*]+)\*", text)
    return " ".join(m[1].lower().split()) if m else None


def _in_order(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of a and b."""
    row = [0] * (len(b) + 1)
    for x in a:
        diag = 0
        for j, y in enumerate(b, 1):
            diag, row[j] = row[j], diag + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


def near_copy(reply: str, other: str) -> bool:
    """Whether `reply` is a near-copy of `other`: the same words, a long verbatim run, or most of its content
    words in order (stage directions ignored)."""
    r, o = _words(reply), _words(other)
    if len(o) >= 3 and r == o:
        return True
    runs = {tuple(o[i : i + COPY_RUN]) for i in range(len(o) - COPY_RUN + 1)}
    if any(tuple(r[i : i + COPY_RUN]) in runs for i in range(len(r) - COPY_RUN + 1)):
        return True
    rc, oc = _content(r), _content(o)
    if len(oc) < MIN_CONTENT or not rc:
        return False
    need = max(COPY_SHARE * len(oc), COPY_DOMINANCE * len(rc))
    if sum((Counter(rc) & Counter(oc)).values()) < need:  # cheap bound first: most pairs stop here
        return False
    return _in_order(oc, rc) >= need


# --- what a persona file says, for the labels and the facts checks -----------------------------------------------

_RELATIONS = {
    "wife": "partner", "husband": "partner", "spouse": "partner", "partner": "partner", "girlfriend": "partner",
    "boyfriend": "partner", "fiancée": "partner", "fiancee": "partner", "fiancé": "partner", "fiance": "partner",
    "mother": "mother", "mum": "mother", "mom": "mother", "mam": "mother", "mummy": "mother",
    "father": "father", "dad": "father", "daddy": "father", "son": "son", "daughter": "daughter",
    "brother": "brother", "sister": "sister", "grandson": "grandson", "granddaughter": "granddaughter",
    "grandmother": "grandmother", "gran": "grandmother", "granny": "grandmother", "nan": "grandmother",
    "grandfather": "grandfather", "grandad": "grandfather", "granddad": "grandfather", "grandpa": "grandfather",
    "colleague": "colleague", "coworker": "colleague", "co-worker": "colleague", "friend": "friend", "mate": "friend",
    "cousin": "cousin", "boss": "manager", "manager": "manager", "accountant": "accountant",
}
# People one has few of, all named in the file when any is: another name for them is a contradiction. Colleagues,
# friends and cousins are many, so a new one is not; naming a family member as one is (a swap of who is who).
_FAMILY = frozenset(_RELATIONS.values()) - {"colleague", "friend", "cousin", "manager", "accountant"}
_REL = "|".join(sorted((re.escape(r) for r in _RELATIONS), key=len, reverse=True))
_ADJ = r"(?:(?:late|little|big|baby|older|younger|elder|eldest|oldest|youngest|only|best|dear|old)\s+)?"
_FILE_RELATION = re.compile(
    # (the second name of "brothers, Tyler, 9, and Alfie" is only looked at: "mum, Lisa, and her brothers" must
    # leave "her brothers" to be matched next)
    rf"(?i:\b(?:his|her|their)\s+{_ADJ}({_REL})s?\b),?\s+{_NAME}(?=(?:,\s*\d{{1,3}})?(?:,?\s+(?i:and)\s+{_NAME})?)"
)
_FILE_MARRIED = re.compile(rf"(?i:\bmarried to)\s+{_NAME}")
_REPLY_RELATION = re.compile(rf"(?i:\bmy\s+(ex-?\s*)?{_ADJ}({_REL})\b),?\s+{_NAME}")
_TITLE = r"(?:(?i:mr|mrs|ms|miss|dr|mister)\.?\s+)?"
# Capitalised words that follow "I'm" without being a name: nationalities, faiths, "Type 2", "Year 11", "Head of".
_NOT_NAMES = frozenset(
    "i the a an and but so he she they we you it this that then when yes no okay ok oh well sorry fine not just "
    "here there type year level head senior chief catholic protestant muslim hindu sikh buddhist orthodox deaf "
    "greek thai swiss scots dutch french czech american mexican german african moroccan jamaican kenyan cuban "
    "ugandan cypriot".split()
)
_DEMONYM = re.compile(r"(?:ish|ese|ian|ean|ic|i|sh|ch)$")  # Polish, Lebanese, Nigerian, Welsh, Dutch...


def _is_name(word: str | None) -> bool:
    return bool(word) and word[0].isupper() and _fold(word) not in _NOT_NAMES


def _bare(word: str) -> str:
    """A captured name without a possessive ('Ola's' is Ola)."""
    return _fold(re.sub(r"['’]s$", "", word))


@dataclass(frozen=True)
class _Facts:
    """What the checks read from a persona file."""

    names: frozenset[str]  # folded: every word of the full name, the short name
    age: int | None
    job_words: frozenset[str]  # folded words of the role, summary and background
    relations: dict[str, frozenset[str]]  # relation -> folded names
    own_labels: tuple[str, ...]
    other_labels: tuple[str, ...]
    learner_roles: tuple[str, ...]  # what the learner is ("nurse"), never said by the persona about itself


_GENERIC_LABELS = ("User", "Assistant", "System", "Human", "AI", "Narrator", "Learner", "Persona")


def _facts(persona: PersonaSpec) -> _Facts:
    """What the checks need from `persona`'s file."""
    s = persona.scenario
    more = (s.learner_brief, s.setting, *(h.content for h in persona.hidden_information),
            *(k.content for k in persona.knowledge))
    return _facts_of(persona.name, persona.short_name, persona.role, persona.summary, persona.background,
                     s.learner_label, more)


@lru_cache(maxsize=64)  # read once per persona, not once per reply
def _facts_of(name: str, short: str, role: str, summary: str, background: str, learner_label: str,
              more: tuple[str, ...]) -> _Facts:
    full = name.replace('"', "")
    names = frozenset(_fold(w) for w in _WORD.findall(full) + [short])
    everything = " ".join((summary, background, *more))
    variants = "|".join(re.escape(v) for v in sorted({full, full.split()[0], short}, key=len, reverse=True))
    # "Tomasz, 52, who", "Dana is 47 and", "Keith (58)"; else "a 52-year-old" in the summary, which is about them
    found = re.search(
        rf"\b(?:{variants})(?:,\s*(?:a\s+|aged\s+)?|\s+is\s+(?:now\s+)?(?:a\s+)?|\s*\()(\d{{1,3}})\b"
        r"(?=\s*(?:[,.;)]|-year|\s*years? old|\s+and\b|\s+who\b|$))",
        everything,
    ) or re.search(r"\b(\d{1,3})-year-old\b|\baged (\d{1,3})\b", summary)
    age = int(next(g for g in found.groups() if g)) if found else None
    relations: dict[str, set[str]] = {}
    for m in _FILE_RELATION.finditer(everything):
        for who in (m[2], m[3]):
            if _is_name(who):
                relations.setdefault(_RELATIONS[m[1].lower()], set()).add(_bare(who))
    for m in _FILE_MARRIED.finditer(everything):
        if _is_name(m[1]):
            relations.setdefault("partner", set()).add(_bare(m[1]))
    # What the learner is called ("Nurse"), unless the persona is one too: a friend may say "as your friend".
    roles = {w.lower() for w in learner_label.split() if len(w) > 2 and w.isalpha()}
    roles -= {"you"} | {_fold(w) for w in _WORD.findall(role)} | set(names)
    own = (full, short) if full != short else (full,)
    return _Facts(
        names=names,
        age=age,
        job_words=frozenset(_WORD.findall(_fold(" ".join((role, summary, background))))) - _STOP,
        relations={k: frozenset(v) for k, v in relations.items()},
        own_labels=own,
        other_labels=tuple(x for x in (learner_label, *_GENERIC_LABELS) if x and x not in own),
        learner_roles=tuple(sorted(roles)),
    )


def _label_at(labels: tuple[str, ...]) -> str:
    return "|".join(re.escape(x) for x in sorted(labels, key=len, reverse=True))


# --- repair ------------------------------------------------------------------------------------------------------

# Where the persona's words end: a code block, a horizontal rule, or an "END" marker the model invented.
_TAIL = re.compile(r"```|(?:^|\s)(?:-{3,}|={3,})|\**\[END\]\**|\*\*END\*\*|<END>|\bEND OF [A-Z -]+\b|\n\s*END\b")


def _drop_repeated_gestures(text: str, recent: list[str]) -> str:
    """A stage direction inside the reply that the last replies already had ('*looks at her with concern*' after
    every first sentence) is a tic: it goes; the opening one is left to the opening check."""
    used = {_fold(" ".join(d.split())) for reply in recent for d in _DIRECTION.findall(reply)}
    if not used:
        return text
    inner = re.compile(r"(?<=[.!?…])\s*\*[^*]+\*")
    return inner.sub(lambda m: "" if _fold(" ".join(m.group().strip().split())) in used else m.group(), text).strip()


def _drop_said_sentences(text: str, earlier: list[str]) -> str:
    """A sentence of four or more words said word for word in an earlier reply is a loop ('I feel like a superhero
    now.' after every line), not speech: it is dropped, if anything else is left."""
    said = {tuple(_words(s)) for reply in earlier for s in re.split(r"(?<=[.!?])\s+", _DIRECTION.sub(" ", reply))}
    sentences = re.split(r"(?<=[.!?])\s+", text)
    kept = [s for s in sentences if len(_words(s)) < 4 or tuple(_words(s)) not in said]
    fresh = any(len(_words(s)) >= 4 for s in kept)  # a reply that is all repeats is left for repeats_itself
    return " ".join(kept) if fresh and len(kept) < len(sentences) else text


def repair(text: str, ctx: ReplyContext) -> str:
    """Deterministic clean-ups that never need a new generation."""
    facts = _facts(ctx.persona)
    text = text.strip()
    tail = _TAIL.search(text)
    if tail:
        text = text[: tail.start()]
    others, own = _label_at(facts.other_labels), _label_at(facts.own_labels)
    # The model wrote the learner's line first, then its own: keep its own.
    if re.match(rf"\s*\**(?:{others})\**\s*:", text):
        mine = re.search(rf"(?:^|\s)\**(?:{own})\**\s*:\**", text)
        if mine:
            text = text[mine.end() :]
    cut = re.search(rf"\s\**(?:{others})\**\s*:", text)  # case-sensitive: "the nurse: she said" is prose
    if cut and cut.start() > 0:
        text = text[: cut.start()]
    text = re.sub(rf"^\s*\*\*(?:{own})\*\*\s*:|^\s*\*\*(?:{own}):\*\*", "", text)  # a bold own label
    text = re.sub(r"\s+", " ", clean_reply(text, list(facts.own_labels))).strip()
    previous = _opening(ctx.earlier_replies[-1]) if ctx.earlier_replies else None
    if previous is not None and _opening(text) == previous:  # the same gesture again reads as a loop
        text = re.sub(r"^\s*\*[^*]+\*\s*", "", text)
    text = _drop_said_sentences(text, ctx.earlier_replies)
    text = _drop_repeated_gestures(text, ctx.earlier_replies[-2:])
    closing = re.search(r"(?<=[.!?…])\s*\*[^*]+\*\s*$", text)
    if closing and ctx.earlier_replies and re.search(r"\*[^*]+\*\s*$", ctx.earlier_replies[-1]):
        text = text[: closing.start()].strip()  # a gesture tacked on the end of every reply is a tic, not a person
    return text


# --- the guards, in the order slips reports them --------------------------------------------------------------------


@guard("empty")
def empty(text: str, ctx: ReplyContext) -> bool:
    """Nothing left but whitespace, stage directions and punctuation."""
    return not re.search(r"[^\W_]", _DIRECTION.sub(" ", text))


@guard("cut_off")
def cut_off(text: str, ctx: ReplyContext) -> bool:
    """Ends mid-word or mid-sentence (repair already tried to end on a finished sentence)."""
    body = text.rstrip()
    if empty(body, ctx):
        return False
    if body.count("*") % 2:  # a stage direction never closed
        return True
    # A dash is a deliberate break-off ("I just—"); a token limit stops on a word, a comma or a colon.
    return not re.search(r"[.!?…)\]\"'”’*—–-]$", body)


@guard("copies_learner")
def copies_learner(text: str, ctx: ReplyContext) -> bool:
    """A near-copy of the learner's last message."""
    return bool(ctx.learner_text) and near_copy(text, ctx.learner_text)


@guard("repeats_itself")
def repeats_itself(text: str, ctx: ReplyContext) -> bool:
    """A near-copy of one of the persona's own earlier replies."""
    return any(near_copy(text, earlier) for earlier in ctx.earlier_replies[-EARLIER_CHECKED:])


# A greeting that addresses the name ("Hi Tomasz,"), not one followed by an introduction ("Hi. Siobhán, Declan's
# daughter.", "Good evening, Farid Haddad", "Hello, Tomasz here").
_GREETING = re.compile(
    rf"(?:^|[.!?]\s+)(?:\*[^*]*\*\s*)?(?i:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|welcome(?: back)?|"
    rf"nice to (?:meet|see) you|thanks?(?: you)?(?: for coming(?: in)?)?),?\s+{_TITLE}{_NAME}"
    r"(?!\s+[A-Z]|\s+(?i:here|speaking)\b|,\s+(?:[^\W\d_]+['’]s|(?i:the|a|an|your|from))\b)"
)
_VOCATIVE_QUESTION = re.compile(rf",\s+{_TITLE}{_NAME}\s*\?")
_VOCATIVE_END = re.compile(rf",\s+{_TITLE}{_NAME}\s*[.!]")  # 'Thank you for the reminder, Dana.' in Dana's mouth


@guard("speaks_as_learner")
def speaks_as_learner(text: str, ctx: ReplyContext) -> bool:
    """Talks as the learner: opens with the learner's label, calls itself what the learner is, or greets itself."""
    facts = _facts(ctx.persona)
    label = ctx.persona.scenario.learner_label
    if label and re.match(rf"\s*\**{re.escape(label)}\**\s*:", text, re.IGNORECASE):
        return True
    if facts.learner_roles:
        roles = "|".join(re.escape(r) for r in facts.learner_roles)
        said = rf"\b(?:i'?m|i am)\s+(?:the|your|an?)\s+(?:\w+\s+)?(?:{roles})\b|\bas your\s+(?:\w+\s+)?(?:{roles})\b"
        if re.search(said, text.replace("’", "'"), re.IGNORECASE):
            return True
    called = [m[1] for pattern in (_GREETING, _VOCATIVE_QUESTION, _VOCATIVE_END) for m in pattern.finditer(text)]
    return any(_bare(n) in facts.names for n in called if _is_name(n))


_BULLETS = re.compile(r"(?:^|\n)\s*[-•]\s+\S|[:.!?]\s+[-•]\s+\S|•|(?:^|\s)#{1,6}\s+\w"
                      r"|\*\*[^*\n]{2,}\*\*")  # markdown bold: a heading or the learner's question restated


@guard("label_or_code")
def label_or_code(text: str, ctx: ReplyContext) -> bool:
    """A speaker label anywhere, a code block, a heading, an END marker or a bullet list."""
    facts = _facts(ctx.persona)
    labels = _label_at((*facts.own_labels, *facts.other_labels))
    if re.search(rf"(?:^|[\n.!?*\"]\s*)\**(?:{labels})\**\s*:", text):
        return True
    return bool(_TAIL.search(text) or re.search(r"\bEND\W*$", text) or _BULLETS.search(text))


_ASSISTANT = re.compile(
    "|".join((
        # a refusal of a request, not a person's "I'm sorry, but I can't see why that matters"
        r"\bI(?:'m| am) sorry,? but I (?:can(?:no|')t|am unable to|'m unable to|am not able to|'m not able to|"
        r"won't be able to) (?:provide|help|assist|answer|share|give you|offer|comply|fulfil|continue|engage)\b",
        r"\bI (?:cannot|can't|am unable to|'m unable to|am not able to|'m not able to) provide\b",
        r"\bI (?:cannot|can't|am unable to|'m unable to) (?:help|assist)(?: you)? with (?:that|this)(?: request)?[.!]",
        r"\bI (?:would )?(?:suggest|recommend|advise) (?:you )?(?:contacting|reaching out|consulting|visiting)\b",
        r"\b(?:consult|contact|speak|talk) (?:with |to )?(?:a|an|your|their|the company) (?:healthcare |medical |qualified )?"
        r"(?:professional|specialist|expert|directly)",
        r"\bit would be (?:best|wise|a good idea) (?:to|for you to) (?:consult|seek|speak|talk|contact)\b",
        r"\bI (?:cannot|can't|am unable to|'m unable to) (?:address|discuss|comment on) (?:your|that|this)\b",
        r"\bat this time\.",
        r"\bI understand (?:your|the) concerns?\b",
        r"\bat their (?:official )?website\b|\bseek professional\b",
        r"\bif you(?: want|'d like| would like) to (?:learn|know|find out|read) more\b",
        r"\bfor more (?:information|details)\b",
        r"^\W*(?:sure|of course|absolutely)[!,.]\s*here(?:'s| is| are)\b|^\W*certainly[!,]",
        r"\bhere(?:'s| is| are) (?:a|an|some|the) (?:summary|list|breakdown|overview|few tips|steps)\b",
        r"\bas an ai\b|\bas a (?:large )?language model\b",
        r"\b(?:i )?hope (?:this|that) (?:helps|information helps)\b|\bfeel free to\b|\bdon't hesitate to\b",
        r"\blet me know if (?:you (?:have|need|would like|'d like|want) (?:any|anything|more|further|help)|"
        r"there(?:'s| is) anything)",
        r"\bhow (?:can|may) I (?:help|assist) you\b|\bis there anything else I can\b|\bhappy to help\b",
        r"\b(?:that's a|what a|such a) great question\b|^\W*great question!",
        r"\bI believe the key\b|\bthe key (?:here )?is to\b|\bclear communication and\b|\bbest practices?\b",
        r"\bit(?:'s| is) (?:really |very |also |always )?(?:important|essential|crucial|vital) (?:to|that)\b"
        r"(?! (?:me|us|him|her|them|my)\b)",
        r"\b(?:in conclusion|in summary|to summari[sz]e)\b",
        r"(?:^|\s)(?:step )?1[.):]\s+\S.*?\s(?:step )?2[.):]\s+\S",  # numbered steps
    )),
    re.IGNORECASE,
)
_COMFORT = re.compile(
    r"\bI(?:'m| am) (?:so |very |really |truly )?sorry (?:to hear|you(?:'re| are) (?:going through|feeling|dealing))|"
    r"\b(?:that|this) (?:must be|sounds) (?:really |so |very )?(?:hard|difficult|tough|stressful|frustrating) "
    r"for you\b|"
    r"\bI understand how you(?:'re| are)? feel",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|me|my|we|our|us)\b", re.IGNORECASE)
_DISTRESS = re.compile(
    r"\b(?:worr|scare|afraid|anxi|stress|upset|sad|sick|ill\b|hurt|pain|lost|los[ie]|died|death|dead|passed away|"
    r"funeral|struggl|hard\b|difficult|tough|awful|terrible|tired|exhaust|broke|crash|cancer|divorce|fired|"
    r"redundan|miss|lonely|cry|cried|can't cope|overwhelm|bad (?:day|week|news))",
    re.IGNORECASE,
)


@guard("assistant_voice")
def assistant_voice(text: str, ctx: ReplyContext) -> bool:
    """Answers as a helpful assistant, or comforts a learner who shared no trouble of their own."""
    text = text.replace("’", "'")
    if _ASSISTANT.search(text):
        return True
    learner = ctx.learner_text.replace("’", "'")
    return bool(_COMFORT.search(text)) and not (_FIRST_PERSON.search(learner) and _DISTRESS.search(learner))


@guard("same_opening_direction")
def same_opening_direction(text: str, ctx: ReplyContext) -> bool:
    """Opens with the same stage direction as one of its last two replies."""
    opening = _opening(text)
    return opening is not None and any(_opening(r) == opening for r in ctx.earlier_replies[-2:])


# "Call me X" only as an offer: "he used to call me Grandad" is a nickname, not a name.
_NAME_CLAIM = re.compile(
    rf"(?i:\b(?:my name(?:'s| is)|name's)|(?:^|[.!?*]\s+|\bplease,?\s+|\bjust\s+|\byou can\s+|\byou may\s+)call me)"
    rf"\s+{_TITLE}{_NAME}"
)
_I_AM_NAME = re.compile(rf"(?i:\bI(?:'m| am))\s+{_TITLE}{_NAME}")
# A bare "I'm 11" only as a sentence of its own: mid-sentence it is as likely a reading ("after lunch I'm 11").
_AGE = re.compile(
    r"\bI(?:'m| am)\s+(?:only\s+|just\s+)?(\d{1,3})\s+years?\s+old\b|\bI(?:'m| am) an? (\d{1,3})-year-old\b|"
    r"\bmy age is (\d{1,3})\b|\bI(?:'ve| have)? just turned (\d{1,3})\b|"
    r"(?:^|[.!?*]\s+)(?:(?:well|and|but|look|so),?\s+)?I(?:'m| am)\s+(?:only\s+|just\s+)?(\d{1,3})"
    r"(?=\s*(?:[,.!?;]|$)|\s+(?:and|but|now|already)\b)",
    re.IGNORECASE,
)
_JOB = re.compile(
    r"\bI work as (?:an?\s+)?([a-z][a-z -]{1,40}?)(?=[,.!?;]|\s+(?:at|for|in|on|and|but|since|with|now)\b|$)|"
    r"\bI(?:'m| am) (?:an?\s+)?([a-z][a-z -]{1,40}?) by (?:trade|profession)\b",
    re.IGNORECASE,
)
_JOB_FILLER = frozenset({"part-time", "full-time", "part", "full", "time", "senior", "junior", "self-employed"})


def _known_job(words: list[str], known: frozenset[str]) -> bool:
    """Whether any word shares a stem with the file's words ('driver'/'driving', 'nurse'/'nursing')."""
    return any(n >= 3 and w[:n] == k[:n] for w in words for k in known if (n := min(4, len(w), len(k))))


@guard("contradicts_file")
def contradicts_file(text: str, ctx: ReplyContext) -> bool:
    """States its name, age, job or a relative's name differently from the persona file."""
    facts = _facts(ctx.persona)
    text = text.replace("’", "'")

    def not_mine(name: str) -> bool:
        n = _bare(name)
        return not any(n == k or (len(n) >= 3 and len(k) >= 3 and (k.startswith(n) or n.startswith(k)))
                       for k in facts.names)

    for m in _NAME_CLAIM.finditer(text):
        if _is_name(m[1]) and not_mine(m[1]):
            return True
    for m in _I_AM_NAME.finditer(text):
        if m[1].endswith("'s"):
            continue  # "I'm Ola's father"
        if _is_name(m[1]) and not _DEMONYM.search(_fold(m[1])) and not_mine(m[1]):
            return True
    if facts.age is not None:
        for m in _AGE.finditer(text):
            said = int(next(g for g in m.groups() if g))
            if said != facts.age:
                return True
    for m in _JOB.finditer(text):
        words = [w for w in _WORD.findall(_fold(m[1] or m[2])) if w not in _STOP and w not in _JOB_FILLER]
        if words and not _known_job(words, facts.job_words):
            return True
    for m in _REPLY_RELATION.finditer(text):
        if m[1] or not _is_name(m[3]):
            continue  # an ex is not the partner in the file
        relation, who = _RELATIONS[m[2].lower()], _bare(m[3])
        known = facts.relations.get(relation, frozenset())
        if relation in _FAMILY and known and who not in known:
            return True
        family = {n for r, names in facts.relations.items() if r in _FAMILY for n in names}
        if relation not in _FAMILY and who in family and who not in known:
            return True
    return False
