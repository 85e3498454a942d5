"""Text to speak, cut into the pieces a speaker synthesises one at a time.

Speakers yield one audio chunk per sentence so playback starts after the first sentence instead of the whole
reply. A chunk of one or two words ("Oh." "Mr.") sounds clipped on its own and wastes a model call, so short
sentences ride with their neighbour; an over-long sentence is cut at a comma so the first chunk stays quick.
"""

from __future__ import annotations

import re

from ..errors import ConfigError

MAX_SPEAK_CHARS = 4000  # one call; a persona's reply is a few hundred characters
MIN_CHUNK_WORDS = 3
MAX_CHUNK_CHARS = 300

# A sentence ends at . ! ? or an ellipsis, after any closing quotes or brackets, before whitespace or the end.
_SENTENCE_END = re.compile(r"(?:[.!?]+|…)[\"'”’)\]]*(?=\s|$)")
# Titles whose full stop is not the end of a sentence ("Dr. Patel").
_ABBREVIATION = re.compile(r"(?:^|\s)(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|vs|e\.g|i\.e)\.$", re.IGNORECASE)
_STAGE_DIRECTION = re.compile(r"\*[^*\n]{0,200}\*")  # "*sighs*": shown to the learner, never read aloud
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_CLAUSE_BREAK = re.compile(r"[,;:—–]\s")


def speakable(text: str) -> str:
    """The text a voice reads: stage directions and control characters dropped, whitespace folded.

    ConfigError (one line) for text longer than MAX_SPEAK_CHARS: a speaker is given one reply at a time."""
    if len(text) > MAX_SPEAK_CHARS:
        raise ConfigError(f"the text to speak has {len(text):,} characters; at most {MAX_SPEAK_CHARS:,} per call")
    text = _STAGE_DIRECTION.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def sentence_ends(text: str) -> list[int]:
    """Where each sentence of `text` ends (after its closing quotes), titles such as "Dr." not counting."""
    ends, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if _ABBREVIATION.search(text[start:match.end()].strip()):
            continue  # keep reading: the sentence goes on after the title
        ends.append(match.end())
        start = match.end()
    return ends


def split_sentences(text: str) -> list[str]:
    """`text` cut at `sentence_ends`; an unfinished last sentence is kept as it is."""
    bounds = [0, *sentence_ends(text), len(text)]
    return [piece for a, b in zip(bounds, bounds[1:], strict=False) if (piece := text[a:b].strip())]


def sentences(text: str) -> list[str]:
    """`text` (already `speakable`) as the chunks to synthesise in order: whole sentences, each of at least
    MIN_CHUNK_WORDS words where the text allows, none much longer than MAX_CHUNK_CHARS."""
    pieces = split_sentences(text)
    chunks: list[str] = []
    pending = ""
    for piece in pieces:
        pending = f"{pending} {piece}".strip()
        if len(pending.split()) >= MIN_CHUNK_WORDS:
            chunks.append(pending)
            pending = ""
    if pending:  # a short last sentence ("Thanks.") joins the one before it
        if chunks:
            chunks[-1] = f"{chunks[-1]} {pending}"
        else:
            chunks.append(pending)
    return [part for chunk in chunks for part in _cut_long(chunk)]


def _cut_long(chunk: str) -> list[str]:
    """Cut a chunk longer than MAX_CHUNK_CHARS after its last clause break (else its last space) within the limit."""
    parts = []
    while len(chunk) > MAX_CHUNK_CHARS:
        window = chunk[:MAX_CHUNK_CHARS]
        breaks = [m.end() for m in _CLAUSE_BREAK.finditer(window) if m.end() > MAX_CHUNK_CHARS // 3]
        cut = breaks[-1] if breaks else window.rfind(" ") + 1
        if cut <= 0:
            cut = MAX_CHUNK_CHARS  # one enormous "word": cut it anyway, the input is bounded
        parts.append(chunk[:cut].strip())
        chunk = chunk[cut:].strip()
    if chunk:
        parts.append(chunk)
    return parts
