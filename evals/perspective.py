"""Say a persona's words back from the learner's side: "I'm scared" -> "you're scared", "your mates" -> "my mates".

The persona speaks to the learner, so the persona's first person becomes "you" and the persona's "you" (the learner)
becomes "I"/"me". A "you" that could be generic ("you can't trust anyone") or plural ("you people") has no safe
shift, and the clause is refused (None) so the caller can pick another one.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")

# The persona's own words, and the learner's words in their mouth.
_FIRST = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "i'm": "you're", "i've": "you've", "i'd": "you'd", "i'll": "you'll",
    "we": "you", "us": "you", "our": "your", "ours": "yours", "ourselves": "yourselves",
    "we're": "you're", "we've": "you've", "we'd": "you'd", "we'll": "you'll",
}
_SECOND = {"your": "my", "yours": "mine", "yourself": "myself", "you're": "I'm", "you've": "I've", "you'll": "I'll"}
# "we" that includes the learner ("when we spoke last week") stays "we".
_INCLUSIVE_WE = re.compile(
    r"\b(?:we|us)\b(?:\s+\w+)?\s+(?:agreed|discussed|talked|spoke|met|covered|went over|arranged)\b"
    r"|\blast time we\b|\bbetween us\b|\bboth of us\b|\beach other\b", re.IGNORECASE)
# After a subject "I": the verb changes with the person only for "am" and "was".
_I_VERB = {"am": "are", "was": "were", "wasn't": "weren't"}
_YOU_VERB = {"are": "am", "were": "was", "weren't": "wasn't"}
_ADVERBS = frozenset("really just also still never always actually honestly only even not so too".split())
# What can follow a subject "you": auxiliaries and the commonest verbs of an accusation or a report.
_VERBISH = frozenset(
    """are were aren't weren't do did don't didn't does have had haven't hadn't has will won't keep kept
    never always just really still also said say told tell asked ask promised promise think thought know knew
    want wanted need needed mean meant seem seemed look looked sound sounded come came go went get got make made
    give gave take took sent send let left put treat treated talk talked listen listened understand understood
    care cared act acted pushed push rushed rush ignore ignored forgot forget clearly obviously""".split())
# A "you" that is most likely generic ("you can't win", "you never know") or part of a group has no safe shift.
_GENERIC_AFTER = frozenset(
    """can can't cannot could couldn't should shouldn't must might may would wouldn't gotta guys lot people all two
    both""".split())
_GENERIC_PHRASE = re.compile(
    r"\byou\s+(?:never|just|always)\s+(?:know|can|can't|have|get|need)\b|\byou\s+know\b|\byou\s+see\b"
    r"|\byou'd\b|\byou\s+(?:have|need|got)\s+to\b|\bmakes?\s+you\b|\byourselves\b", re.IGNORECASE)
_PREPOSITIONS = frozenset(
    """to for with at about from of by on in into onto without behind around toward towards against near beside
    past over under upon""".split())
_OBJECT_FOLLOWERS = frozenset(
    """i me my we us our he him his she her they them their it its this that these those the a an to for about
    with at from of on in and or but because so too again anymore now today here there back off out up down
    any some all enough yet though either last yesterday already twice once before earlier every""".split())
# "Mum died" is the persona's mum: said back, "your mum died".
_KIN = frozenset("mum mom mam dad gran granny grandma nan nana grandad grandpa".split())
_DETERMINERS = frozenset("my your his her our their the a an to".split())


def _case_like(original: str, new: str, first: bool) -> str:
    """`new` capitalised as `original` was at the clause start; "I" stays upper wherever it lands."""
    if new == "I" or new.startswith("I'") or new.startswith("I "):
        return new
    return new[0].upper() + new[1:] if first and original[:1].isupper() else new


def _you_role(words: list[str], i: int) -> str | None:
    """"subject" or "object" for the "you" at `words[i]`, or None when it cannot be told safely."""
    before = words[i - 1].lower() if i else ""
    after = words[i + 1].lower() if i + 1 < len(words) else ""
    if after in _GENERIC_AFTER:
        return None
    if before in _PREPOSITIONS:
        return "object"
    if after in _VERBISH or after.endswith("ed"):
        return "subject"
    if not after or after in _OBJECT_FOLLOWERS:
        return "object"
    return None


def to_listener(clause: str) -> str | None:
    """`clause` as the learner would say it back to the persona, or None if a "you" in it has no safe shift."""
    text = clause.replace("\u2019", "'")
    if _GENERIC_PHRASE.search(text):
        return None
    inclusive = bool(_INCLUSIVE_WE.search(text))
    tokens = re.split(f"({_WORD.pattern})", text)  # odd indexes are words
    words = [tokens[k] for k in range(1, len(tokens), 2)]
    out = list(words)
    subject = None  # "I" or "you" when the last pronoun seen was a subject
    for i, word in enumerate(words):
        low = word.lower()
        if low in ("us", "we", "our", "ours", "ourselves", "we're", "we've", "we'd", "we'll") and (
                inclusive or word == "US"):
            subject = None
            continue
        if low in _FIRST:
            out[i] = _case_like(word, _FIRST[low], i == 0)
            subject = "I" if low in ("i", "we") else None
            continue
        if low in _SECOND:
            out[i] = _case_like(word, _SECOND[low], i == 0)
            subject = None
            continue
        if low in _KIN and word[0].isupper() and (not i or words[i - 1].lower() not in _DETERMINERS):
            out[i] = ("Your " if i == 0 else "your ") + low
            subject = None
            continue
        if low == "you":
            role = _you_role(words, i)
            if role is None:
                return None
            out[i] = "I" if role == "subject" else _case_like(word, "me", i == 0)
            subject = "you" if role == "subject" else None
            continue
        if subject == "I" and low in _I_VERB:
            out[i] = _I_VERB[low]
        elif subject == "you" and low in _YOU_VERB:
            out[i] = _YOU_VERB[low]
        elif subject == "you" and low == "aren't":
            out[i] = "am not"
        if low not in _ADVERBS:
            subject = None
        # "so was I", "neither am I": the verb before a subject "I" changes too.
        if low in ("am", "was", "wasn't") and i + 1 < len(words) and words[i + 1] == "I":
            out[i] = _case_like(word, _I_VERB[low], i == 0)
    for k, word in zip(range(1, len(tokens), 2), out, strict=True):
        tokens[k] = word
    return re.sub(r"\bI am not\b", "I'm not", "".join(tokens))


def speaks_of_listener(clause: str) -> bool:
    """Whether the clause's subject is the learner ("you never listen", "your prices are too high")."""
    first = _WORD.search(clause.replace("\u2019", "'"))
    return bool(first) and first.group(0).lower() in ("you", "your", "you're", "you've", "you'll")
