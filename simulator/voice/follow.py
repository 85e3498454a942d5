"""Which sentences of a reply may be spoken while it is still streaming in.

The chat shows a reply as it streams and replaces it with the stored reply at the end; speech cannot be taken
back, so only what the stored reply would keep is spoken: finished sentences, with the end marker, a leading
name label and stage directions removed, nothing after another speaker's label, and no sentence that breaks
character. Sentences are counted, so when the stored reply arrives only the ones not yet spoken are said.
"""

from __future__ import annotations

import re

from ..fidelity import character_breaks, clean_reply
from ..prompts import END_MARKER
from .sentences import MAX_SPEAK_CHARS, sentence_ends, speakable, split_sentences


def finished_part(text: str) -> str:
    """`text` up to the end of its last finished sentence: one that more text (a space at least) follows."""
    ends = [end for end in sentence_ends(text) if end < len(text)]
    return text[: ends[-1]] if ends else ""


class ReplyVoice:
    """Follows one reply as it streams: `ready(text_so_far)` gives the sentences to speak now, each once."""

    def __init__(self, speaker_labels: list[str], learner_text: str = ""):
        self.labels, self.learner_text = speaker_labels, learner_text
        self.spoken = 0  # sentences of this reply already handed out (or skipped as out of character)
        self.stopped = False  # another speaker's label appeared: nothing after it is this persona's

    def restart(self) -> None:
        """The reply started again (a retry inside the model call): count from its first sentence."""
        self.spoken, self.stopped = 0, False

    def ready(self, text: str, complete: bool = False) -> list[str]:
        """The newly finished sentences of the reply so far (`complete`: the whole reply, e.g. the stored one)."""
        if self.stopped and not complete:
            return []
        text = text[:MAX_SPEAK_CHARS].replace(END_MARKER, " ")
        if not complete:  # only what is finished
            text = finished_part(text)
            if text.count("*") % 2:  # a stage direction still streaming: wait for its end
                text = text[: text.rfind("*")]
            if any(re.search(rf"\s{re.escape(label)}:", text) for label in self.labels):
                self.stopped = True  # another speaker starts: nothing after the label is this persona's
        sentences = split_sentences(speakable(clean_reply(text, self.labels)))
        new = sentences[self.spoken:]
        first = self.spoken == 0
        self.spoken = max(self.spoken, len(sentences))
        return [s for i, s in enumerate(new)
                if not character_breaks(s, self.learner_text if first and i == 0 else "")]
