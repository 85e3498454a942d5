"""Real turns through the embedded llama.cpp models from PyPI, fully offline: the default chat model
(Qwen2.5-Coder-1.5B-Instruct) and the fast base model (Gemma 3 270M)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import PrivateAttr

from simulator.fidelity import character_breaks
from simulator.models import chat_model_for
from simulator.models.embedded import EmbeddedChatModel, render_transcript
from simulator.reply_plan import mentions
from simulator.session import HARD_SLIPS, Delta, Session
from simulator.transcript import Speaker

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def default_model():
    spec, model = chat_model_for("persona")  # no key configured: the embedded default
    assert spec.label == "embedded:qwen-1.5b (default)" and model.prompt_style == "chat"
    return spec, model.model_copy(update={"seed": 7})


class SlipsFirst(EmbeddedChatModel):
    """The real model, except that the first attempt at each reply is a slip a small model really made: so every
    guard fires on a live conversation and the real model writes the regeneration."""

    slips_to_make: list[str] = []
    _calls: int = PrivateAttr(default=0)

    def _tokens(self, messages, stop, **kwargs: Any) -> Iterator[str]:
        call, self._calls = self._calls, self._calls + 1
        if call % 2 == 0 and call // 2 < len(self.slips_to_make):
            yield self.slips_to_make[call // 2]
            return
        yield from super()._tokens(messages, stop, **kwargs)


# (learner line, a slip the first attempt makes, the guard that must catch it)
SCRIPT = [
    ("Hello Tomasz, thanks for coming in. How have you been since the diagnosis?",
     "Hello Tomasz, thanks for coming in. How have you been since the diagnosis?", "copies_learner"),
    ("Could you tell me what has been on your mind about the tablets?",
     "I'm sorry, but I can't provide any specific details. I suggest contacting your GP directly.", "assistant_voice"),
    ("It sounds like starting them feels like a big step for you.",
     "Nurse: How are you feeling today?", "label_or_code"),
    ("What do you remember about your father's diabetes?",
     "My name is Marek and I am 45 years old.", "contradicts_file"),
    ("Are you an AI?", "- I worry about the tablets.\n- I worry about my licence.", "label_or_code"),
]


def test_a_conversation_where_every_slip_is_caught_and_regenerated_by_the_real_model(library, default_model):
    spec, model = default_model
    persona = library.get("diabetes-newly-diagnosed")
    slipping = SlipsFirst(model_path=model.model_path, seed=7, slips_to_make=[slip for _, slip, _ in SCRIPT])
    session = Session(persona, slipping, model_spec=spec)
    for (line, _, guard), check in zip(SCRIPT, range(len(SCRIPT))):
        events = list(session.send_sync(line))
        reply = session.turns[-1].text
        assert any(isinstance(e, Delta) for e in events), "the reply should stream"
        record = session.reply_checks[check]
        assert guard in record.first and record.attempts == 2
        assert not HARD_SLIPS.intersection(record.stored), f"stored a slip: {record.stored} in {reply!r}"
        assert reply.strip() and "```" not in reply and "Nurse:" not in reply and "\n" not in reply
        assert character_breaks(reply, line) == []
        assert len(reply.split()) <= 90  # a realistic spoken length
    assert len(session.turns) == 11 and not session.awaiting_reply


def test_an_earned_item_is_brought_up_within_two_replies(library, default_model):
    """A scripted run on the default model: once the learner earns a hidden item, the persona says it."""
    spec, model = default_model
    persona = library.get("diabetes-newly-diagnosed")
    session = Session(persona, model, model_spec=spec)
    lines = [
        "Hello Tomasz. Before we talk about tablets, what do you already know or fear about diabetes?",
        "So part of you is proud of the three kilos, and part of you is scared this is how it started for your father."
        " What goes through your mind when you think about starting the metformin?",
        "You've already made real changes, and that's a real effort. What have you been doing to keep an eye on it?",
        "That sounds exhausting, checking so often and feeling it all on your shoulders. What happens when the"
        " numbers come back high?",
        "Thank you for telling me. What would make it feel safer to start?",
    ]
    earned_at: dict[str, int] = {}
    for line in lines:
        list(session.send_sync(line))
        for item in session.unlocked:
            earned_at.setdefault(item, len(session.turns) - 2)  # the learner turn that earned it
    assert earned_at, "the scripted learner should earn at least one hidden item"
    items = {i.id: i for i in persona.hidden_information}
    for item_id, turn in earned_at.items():
        replies = [t.text for t in session.turns[turn + 1:turn + 4] if t.speaker is Speaker.PERSONA][:2]
        if len(replies) < 2 and turn + 1 >= len(session.turns) - 1:
            continue  # earned on the last turn: no room left to say it
        assert any(mentions(items[item_id], persona, r) for r in replies), (item_id, replies)


def test_the_fast_base_model_is_prompted_as_a_script(library):
    spec, model = chat_model_for("persona", "embedded:gemma-270m")
    assert model.prompt_style == "transcript" and spec.label == "embedded:gemma-270m"
    persona = library.get("procurement-skeptic")
    session = Session(persona, model.model_copy(update={"seed": 7}))
    session.turns.append(session.turns[0].model_copy(update={"speaker": "learner", "text": "Hi Dana."}))
    prompt, reply_as, stops = render_transcript(session.next_prompt())
    assert prompt.endswith("Rep: Hi Dana.\n(Dana does not trust them yet and keeps answers short.)\nDana:")
    assert reply_as == "Dana" and "\n" in stops and " Rep:" in stops
    assert "You are Dana" not in prompt  # no chat-style instructions for a base model
    session.turns.pop()
    list(session.send_sync("Hello Dana, what would make this meeting worth your time?"))
    assert session.turns[-1].text.strip() and "Rep:" not in session.turns[-1].text


def test_two_learners_on_one_model_keep_their_prefixes(library, default_model):
    """Each session's instructions are read once, at its start; turns of two learners in alternation each read
    only their new messages, however the other learner's turns moved the model's state."""
    from simulator.testing.llama_meter import metered

    spec, model = default_model
    first = Session(library.get("diabetes-newly-diagnosed"), model, model_spec=spec)
    second = Session(library.get("procurement-skeptic"), model, model_spec=spec)
    for session in (first, second):
        session.warming.join()
    with metered() as meter:
        list(first.send_sync("Hello Tomasz, what brings you in today?"))
        list(second.send_sync("Thanks for making the time, Dana. Where would you like to start?"))
        list(first.send_sync("That sounds worrying. What is on your mind most?"))
    prompts = [prompt for prompt, _ in meter.calls]
    read = [evaluated for _, evaluated in meter.calls]
    assert min(prompts) > 700  # each persona's whole prompt, instructions included
    assert max(read) < 250, meter.calls  # yet only the new messages and the note are read, every turn
