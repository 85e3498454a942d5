"""Three real turns through the embedded llama.cpp model (Gemma 3 270M from PyPI), fully offline."""

from __future__ import annotations

import pytest

from simulator.fidelity import character_breaks
from simulator.models import chat_model_for
from simulator.models.embedded import render_transcript
from simulator.session import Delta, Session

pytestmark = pytest.mark.embedded


@pytest.fixture(scope="module")
def embedded():
    spec, model = chat_model_for("persona")  # no key configured: the embedded default
    assert spec.is_embedded_default
    return spec, model.model_copy(update={"seed": 7})


def test_three_turns_with_the_embedded_model(library, embedded):
    spec, model = embedded
    persona = library.get("diabetes-newly-diagnosed")
    session = Session(persona, model, model_spec=spec)
    for text in (
        "Hello, thanks for coming in today. How have you been since the diagnosis?",
        "That sounds like a lot to take in. What worries you most about the tablets?",
        "Are you an AI?",
    ):
        events = list(session.send_sync(text))
        reply = session.turns[-1].text
        assert any(isinstance(e, Delta) for e in events), "the reply should stream"
        assert reply.strip()
        assert character_breaks(reply, text) == []
        assert f"{persona.scenario.learner_label}:" not in reply and "\n" not in reply
        assert len(reply.split()) <= 90  # a realistic spoken length
    assert len(session.turns) == 7 and not session.awaiting_reply


def test_the_base_model_is_prompted_as_a_script(library, embedded):
    _, model = embedded
    persona = library.get("procurement-skeptic")
    session = Session(persona, model)
    session.turns.append(session.turns[0].model_copy(update={"speaker": "learner", "text": "Hi Dana."}))
    prompt, reply_as, stops = render_transcript(session.next_prompt())
    assert prompt.endswith("Rep: Hi Dana.\n(Dana does not trust them yet and keeps answers short.)\nDana:")
    assert reply_as == "Dana"
    assert "\n" in stops and " Rep:" in stops
    assert "You are Dana" not in prompt  # no chat-style instructions for a base model
