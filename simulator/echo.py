"""Catch a persona reply that reproduces its own prompt (a model repeating its instructions), cheaply.

The prompt actually sent is indexed once per reply as word shingles; the reply is scanned word by word as it
streams, so the check is linear in the reply's length and can stop a stream the moment it turns into an echo.
Words are compared lower-cased with punctuation and whitespace ignored, so re-spacing or re-casing the prompt
does not hide an echo; a word or a short phrase the persona shares with its prompt is never enough.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import deque
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from enum import Enum
from functools import lru_cache

from langchain_core.messages import BaseMessage, SystemMessage

from .first_person import first_person
from .persona.spec import PersonaSpec
from .prompts import PersonaContext
from .transcript import Turn

SHINGLE = 8  # words in a row shared with the prompt's own wording: never chance, rarely a paraphrase
RECITAL_WORDS = 24  # this much of the persona's description verbatim, making up most of the reply, is a recital
RECITAL_SHARE = 0.6
MAX_CACHED_PARAGRAPH = 2000  # characters: at most 8,192 paragraphs this long are kept (about 16 MB of text)
MAX_WORD = 64  # characters held back between streamed pieces in case the next one continues the word

_TOKEN = re.compile(r"#+|[^\W_]+(?:'[^\W_]+)*")
_HEADING = re.compile(r"^[ \t]*#+[ \t]*(.+?)[ \t]*$", re.MULTILINE)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


def words(text: str) -> list[str]:
    """The words of `text` as the check compares them: lower-case, without punctuation or heading marks."""
    return [t for t in _tokens(text) if t[0] != "#"]


@lru_cache(maxsize=8192)
def _paragraph(text: str) -> tuple[tuple[str, ...], frozenset[tuple[str, ...]]]:
    """(words, shingles) of one paragraph; memoised: most of a prompt, and every earlier turn, recurs each reply."""
    w = tuple(words(text))
    return w, _shingles(w)


def _shingles(w: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    return frozenset(w[i : i + SHINGLE] for i in range(len(w) - SHINGLE + 1))


def _paragraph_once(text: str) -> tuple[tuple[str, ...], frozenset[tuple[str, ...]]]:
    """Long paragraphs (a pasted essay) are not cached: the cache's size must not depend on what learners type."""
    if len(text) > MAX_CACHED_PARAGRAPH:
        w = tuple(words(text))
        return w, _shingles(w)
    return _paragraph(text)


def text_shingles(text: str) -> frozenset[tuple[str, ...]] | set[tuple[str, ...]]:
    """Every run of SHINGLE words in `text`: paragraph by paragraph from the cache, plus the runs that span a break
    (no word crosses a blank line, so the words of the whole are the paragraphs' words in order)."""
    parts = [_paragraph_once(part) for part in text.split("\n\n")]
    if len(parts) == 1:
        return parts[0][1]
    found = set().union(*(s for _, s in parts))
    carry: list[str] = []  # the last SHINGLE - 1 words before this paragraph: where a spanning shingle starts
    for part_words, _ in parts:
        window = carry + list(part_words[: SHINGLE - 1])
        found.update(tuple(window[i : i + SHINGLE]) for i in range(min(len(carry), len(window) - SHINGLE + 1)))
        carry = (carry + list(part_words))[-(SHINGLE - 1):]
    return found


class PromptIndex:
    """What a reply must not reproduce, built from the prompt actually sent.

    `described` is the persona's own description as it appears in the prompt (background, goals, setting...):
    a persona may restate a sentence of it in its own voice, but not recite it. `sayable` is what the persona
    is meant to say (facts, memories, earned disclosures, its speech examples, earlier turns): never an echo.
    Everything else in the prompt is instruction wording, which no reply repeats for eight words in a row.
    """

    def __init__(self, prompt: str, described: Iterable[str] = (), sayable: Iterable[str] = (),
                 said_before: AbstractSet[tuple[str, ...]] = frozenset()):
        """`said_before`: the shingles of the conversation's turns (sayable too, kept apart: it is large and shared)."""
        said = set().union(*(text_shingles(t) for t in sayable))
        about = {x for x in set().union(*(text_shingles(t) for t in described)) if x not in said and x not in said_before}
        everything = text_shingles(prompt)
        self.instructions = {x for x in everything if x not in about and x not in said and x not in said_before}
        self.description = everything & about
        self.headings = {tuple(w) for h in _HEADING.findall(prompt) if (w := words(h))}
        self.heading_lengths = sorted({len(h) for h in self.headings})


def prompt_index(messages: list[BaseMessage], persona: PersonaSpec, context: PersonaContext) -> PromptIndex:
    """Index the system text of `messages` (instructions, scene, stage notes, reminders) for this persona."""
    prompt = "\n\n".join(str(m.content) for m in messages if isinstance(m, SystemMessage))
    p, s = persona, persona.scenario
    own = [p.background, p.personality.communication_style, p.personality.emotional_baseline, *p.goals, *p.concerns]
    described = [
        p.name, p.role, f"{p.name}, {p.role}", ", ".join(p.personality.traits), *own,
        *(first_person(text, p) for text in own), s.setting, s.learner_role,  # the prompt tells them as "I"
    ]
    sayable = [
        *p.personality.speech_examples, *(k.content for k in context.knowledge), *context.memories,
        *(item.content for item in context.disclosable), *context.conveyed,
    ]
    return PromptIndex(prompt, described, sayable, said_before=turn_shingles(context.turns))


MAX_GROWN = 50_000  # shingles kept per conversation (a few MB); a longer one is re-united each reply instead
_grown: dict[int, tuple[list[weakref.ref[Turn]], set[tuple[str, ...]]]] = {}
_grown_lock = threading.Lock()


def turn_shingles(turns: list[Turn]) -> AbstractSet[tuple[str, ...]]:
    """Every shingle of `turns`, grown from the last call for the same conversation: turns are only appended
    between undos, so a reply adds two turns' shingles instead of re-uniting the whole conversation's.

    Kept only while the conversation lives (dropped when its first turn is freed) and only up to `MAX_GROWN`
    shingles, so what learners type cannot make it grow without bound."""
    if not turns:
        return frozenset()
    key = id(turns[0])
    with _grown_lock:
        seen, union = _grown.pop(key, ([], set()))
    if len(seen) > len(turns) or not all(ref() is turn for ref, turn in zip(seen, turns)):
        seen, union = [], set()
    known = bool(seen)
    for turn in turns[len(seen):]:
        union |= text_shingles(turn.text)
    if len(union) <= MAX_GROWN:
        with _grown_lock:
            _grown[key] = ([weakref.ref(t) for t in turns], union)
        if not known:  # (a conversation re-united after an undo already has its finaliser; one more is harmless)
            weakref.finalize(turns[0], _forget, key)
    return union


def _forget(key: int) -> None:
    with _grown_lock:
        _grown.pop(key, None)


class EchoCheck:
    """Fed a reply piece by piece; `found` names the first sign that it reproduces the prompt, else None."""

    def __init__(self, index: PromptIndex):
        self.index = index
        self.found: str | None = None
        self._pending = ""  # the end of the text so far, which may be the start of a longer word
        self._after_hash = False
        longest = max([SHINGLE, *index.heading_lengths])
        self._tail: deque[tuple[str, bool]] = deque(maxlen=longest)  # recent words, and whether '#' led them
        self._count = 0
        self._recited = 0  # words covered by shingles of the persona's description
        self._recited_until = 0

    def feed(self, text: str) -> str | None:
        text = self._pending + text
        cut = len(text)
        while cut > 0 and (text[cut - 1].isalnum() or text[cut - 1] in "#'’") and len(text) - cut < MAX_WORD:
            cut -= 1  # hold back a word the next piece may continue (a giant "word" is not held for ever)
        self._pending = text[cut:] if len(text) - cut < MAX_WORD else ""
        self._scan(text[:cut] if self._pending else text)
        return self.found

    def finish(self) -> str | None:
        """The verdict on the whole reply."""
        self._scan(self._pending)
        self._pending = ""
        if self.found is None and self._recited >= RECITAL_WORDS and self._recited >= RECITAL_SHARE * self._count:
            self.found = "recites its own description"
        return self.found

    def _scan(self, text: str) -> None:
        for token in _tokens(text):
            if self.found is not None:
                return
            if token[0] == "#":
                self._after_hash = True
                continue
            self._tail.append((token, self._after_hash))
            self._after_hash = False
            self._count += 1
            self._check()

    def _check(self) -> None:
        tail = list(self._tail)
        for length in self.index.heading_lengths:
            if len(tail) >= length and tail[-length][1] and tuple(w for w, _ in tail[-length:]) in self.index.headings:
                self.found = "repeats a heading of its instructions"
                return
        if len(tail) < SHINGLE:
            return
        shingle = tuple(w for w, _ in tail[-SHINGLE:])
        if shingle in self.index.instructions:
            self.found = "repeats its instructions"
        elif shingle in self.index.description:
            start = max(self._count - SHINGLE, self._recited_until)
            self._recited += self._count - start
            self._recited_until = self._count


class Marker(Enum):
    NONE = "none"
    TRAILING = "trailing"  # the genuine use: once, at the very end of what the persona says
    STRAY = "stray"  # anywhere else: the model is quoting its instructions, not leaving


def end_marker_use(raw: str, marker: str, speaker_labels: Iterable[str] = ()) -> Marker:
    """How `raw` uses the end marker; text after it counts only if it is another speaker's line (cut anyway)."""
    first = raw.find(marker)
    if first < 0:
        return Marker.NONE
    after = raw[first + len(marker) :]
    if marker in after:
        return Marker.STRAY
    rest = after.strip().lower()
    if not re.search(r"\w", rest) or any(rest.startswith(label.lower() + ":") for label in speaker_labels if label):
        return Marker.TRAILING
    return Marker.STRAY
