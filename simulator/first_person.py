"""Persona facts retold in the first person, for the note a small model reads just before it speaks.

Persona files describe the person from outside ("His colleague Des…", "Tomasz believes…"). A 1.5B model given
that text tends to say it as it stands, so the persona talks about itself as "he". Retold as "my colleague
Des…", "I believe…", the same fact comes out in the persona's own mouth.
"""

from __future__ import annotations

import re

from .persona.spec import PersonaSpec

_IRREGULAR = {"is": "am", "has": "have", "does": "do", "doesn't": "don't", "isn't": "am not", "hasn't": "haven't",
              "was": "was", "wasn't": "wasn't", "goes": "go", "says": "say"}
_NOT_VERBS = frozenset({"always", "also", "perhaps", "sometimes", "thus", "as", "this", "its", "less", "unless"})


def _pronouns(persona: PersonaSpec) -> tuple[str, str, str]:
    """(subject, object, possessive) the file uses for the persona, by which it uses more."""
    text = f"{persona.background} {' '.join(persona.concerns)}".lower()
    he = len(re.findall(r"\b(he|him|his)\b", text))
    she = len(re.findall(r"\b(she|her|hers)\b", text))
    they = len(re.findall(r"\b(they|them|their)\b", text))
    if she > he and she >= they:
        return "she", "her", "her"
    if they > he and they > she:
        return "they", "them", "their"
    return "he", "him", "his"


def base_verb(word: str) -> str:
    """The verb after 'I': 'believes' -> 'believe', 'worries' -> 'worry', 'is' -> 'am'."""
    lower = word.lower()
    if lower in _IRREGULAR:
        return _IRREGULAR[lower]
    if lower in _NOT_VERBS or not lower.endswith("s") or lower.endswith("ss"):
        return word
    if lower.endswith("ies") and len(lower) > 4:
        return word[:-3] + "y"
    if re.search(r"(sh|ch|x|o)es$", lower):
        return word[:-2]
    return word[:-1]


_FUNCTION_WORDS = "until|to|the|a|an|that|this|in|on|at|for|with|about|from|and|or|but|as|by|up|down|off|out|back|so"
_OTHER_WOMAN = re.compile(r"\b(mum|mom|mother|sister|daughter|wife|girlfriend|aunt|gran|grandmother|nan|niece|"
                          r"woman|girl|lady)\b", re.IGNORECASE)


def _retell_her(sentence: str) -> str:
    """'she'/'her' are the persona's only where no other woman is in the sentence; 'her mother' (possessive)
    becomes 'my mother', 'told her' (object) 'told me'."""
    if _OTHER_WOMAN.search(re.sub(r"\bshe\b", "", sentence, flags=re.IGNORECASE)):
        # a file's sentence that opens with "She" is about the persona, whoever else it names
        return re.sub(rf"^She\s+({_ADVERB})(\w+(?:'t)?)", lambda m: f"I {m.group(1)}{base_verb(m.group(2))}",
                      sentence)
    sentence = re.sub(rf"\bshe\s+({_ADVERB})(\w+(?:'t)?)", lambda m: f"I {m.group(1)}{base_verb(m.group(2))}",
                      sentence, flags=re.IGNORECASE)
    sentence = re.sub(r"\bherself\b", "myself", sentence, flags=re.IGNORECASE)
    sentence = re.sub(rf"\bher\b(?=\s+(?!(?:{_FUNCTION_WORDS})\b)(?:own\s+)?[a-z]+(?:'s)?\b)", "my", sentence,
                      flags=re.IGNORECASE)
    return re.sub(r"\bher\b", "me", sentence, flags=re.IGNORECASE)


_ADVERB = r"(?:(?:only|half|still|also|never|always|often|sometimes|quietly|really|just|even|already|then|now|barely|"
_ADVERB += r"hardly|rarely|usually|secretly|privately)\s+)*"
# After "I …, and": a verb in -s that goes on with an object or place (a plural noun rarely does); never across a
# relative clause ('Richard, who plays golf and sings').
_VERB_GOES_ON = (r"(?=\s+(?:been|at|about|to|the|a|an|in|on|for|with|up|back|out|it|them|that|his|her|my|\d+|"
                 r"[a-z]+teen|twenty|thirty|forty|fifty|two|three|four|five|six|seven|eight|nine|ten|\w+ly)\b"
                 r"|\s*[\"“])")
_SECOND_VERB = re.compile(rf"(\bI\b(?:(?!\b(?:who|which|whose)\b)[^.;!?]|\.\d)*?(?:\band|,)\s+{_ADVERB})"
                          rf"(has|is|does|\w+s{_VERB_GOES_ON})\b")
_OTHER_MAN = re.compile(r"\b(father|dad|brother|son|husband|colleague|boss|uncle|grandfather|grandad|friend|manager|"
                        r"partner|cousin|man|boy|grandson|nephew|teacher|doctor)\b", re.IGNORECASE)


_ADVERBS = frozenset(_ADVERB.removeprefix("(?:(?:").split(")")[0].split("|"))


def _retell_his(sentence: str, names: set[str]) -> str:
    """'he'/'his'/'him' are the persona's unless another man was named since the persona last spoke of itself:
    'My father … lost his left foot' keeps 'his'."""
    out, other, verb_next = [], False, False
    for token in re.split(r"(\W+)", sentence):
        lower = token.lower()
        if not token.strip() or not token[0].isalnum():
            out.append(token)
            continue
        if verb_next and lower not in _ADVERBS:
            token, verb_next = base_verb(token), False
        elif lower in {"i", "my", "me", "myself"} or token in names:
            other = False
        elif lower in {"he", "his", "him", "himself"} and not other:
            verb_next = lower == "he"
            token = {"he": "I", "his": "my", "him": "me", "himself": "myself"}[lower]
        elif _OTHER_MAN.fullmatch(token):
            other = True
        out.append(token)
    return "".join(out)


def first_person(text: str, persona: PersonaSpec) -> str:
    """`text` about the persona retold as the persona would say it ("his father" -> "my father", "Tomasz
    believes" -> "I believe"); a pronoun that may be someone else's is left as it is."""
    subject, _, _ = _pronouns(persona)
    names = sorted({persona.name, persona.short_name, persona.name.split()[0]}, key=len, reverse=True)
    name = "|".join(re.escape(n) for n in names if n)
    out = re.sub(rf"\b(?:{name})'s\b", "my", text)
    subject_or_name = rf"(?:{name})"  # pronouns are retold sentence by sentence below, where others can be told apart
    # the persona's name as a subject (at a sentence's or clause's start) becomes "I"; as an object, "me"
    out = re.sub(rf"(^|[.!?;:]\s+|,\s+|\b(?:and|but|so|because|when|while|that|since|until|as|if|which|then)\s+)"
                 rf"{subject_or_name}\s+({_ADVERB})(\w+(?:'t)?)",
                 lambda m: f"{m.group(1)}I {m.group(2)}{base_verb(m.group(3))}", out, flags=re.IGNORECASE)
    out = re.sub(rf"\b(with|to|for|from|about|at|by|tell|told|asks?|asked|gives?|gave|let|lets|makes?|made)"
                 rf"\s+(?:{name})\b", r"\1 me", out)
    sentences = re.split(r"(?<=[.!?;])\s+", out)
    if subject == "she":
        out = " ".join(_retell_her(sentence) for sentence in sentences)
    elif subject == "he":
        out = " ".join(_retell_his(sentence, set(names)) for sentence in sentences)
    for _ in range(3):  # each pass converts one more verb of a list: 'I start…, eat… and have…'
        out = _SECOND_VERB.sub(lambda m: m.group(1) + base_verb(m.group(2)), out)
    out = re.sub(r"\btheir (daughter|son|children|kids|family|home|house)\b", r"our \1", out)
    out = re.sub(r"(^|[.!?]\s+)(my|me)\b", lambda m: m.group(1) + m.group(2).capitalize(), out)
    return out
