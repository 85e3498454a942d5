"""The role-play loop on the fake model: streaming, undo, restart, endings, failures, a bounded prompt."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from simulator.errors import ModelError, SessionError
from simulator.fidelity import character_breaks, clean_reply
from simulator.models import ScriptedChatModel
from simulator.session import Delta, EndReason, ReplyDone, Reset, Session
from simulator.transcript import Speaker


@pytest.fixture
def persona(library):
    return library.get("procurement-skeptic")


def loop(persona, model, **kwargs) -> Session:
    """A session without rapport dynamics: these tests are about the loop itself."""
    return Session(persona, model, dynamics=False, **kwargs)


def run(session: Session, text: str | None) -> list:
    """All events of one reply (`text=None` retries)."""
    return list(session.send_sync(text) if text is not None else session.retry_sync())


def test_reply_streams_in_pieces_and_is_committed(persona):
    model = ScriptedChatModel(replies=["Fine. *makes a note* What do you want to know?"])
    session = loop(persona, model)
    events = run(session, "Hello Dana, what went wrong with Veritrack?")
    deltas = [e.text for e in events if isinstance(e, Delta)]
    done = events[-1]
    assert len(deltas) > 3 and "".join(deltas) == "Fine. *makes a note* What do you want to know?"
    assert isinstance(done, ReplyDone) and done.index == 2 and done.ending is None
    assert [t.speaker for t in session.turns] == [Speaker.PERSONA, Speaker.LEARNER, Speaker.PERSONA]
    assert session.turns[0].text == persona.opening_line


def test_prompt_plays_the_persona_and_forbids_breaking_character(persona):
    model = ScriptedChatModel(replies=["Go on."])
    session = loop(persona, model)
    run(session, "Hi")
    [prompt] = model.prompts
    system = prompt[0]
    assert isinstance(system, SystemMessage)
    assert "You are Dana Whitfield" in system.content
    assert "never say or hint that you are" in system.content
    assert "Never coach" in system.content and "Never reveal" in system.content
    assert isinstance(prompt[-2], HumanMessage) and prompt[-2].content == "Hi"
    # what changes each turn comes after the conversation, as a private note, so the prefix never changes
    assert isinstance(prompt[-1], SystemMessage) and prompt[-1].content.startswith("(Note:")


def test_difficulty_changes_the_allowed_reply_length(persona):
    easy = loop(persona, ScriptedChatModel(), difficulty="easy").next_prompt()[0].content
    hard = loop(persona, ScriptedChatModel(), difficulty="hard").next_prompt()[0].content
    assert "two or three sentences" in easy and "one short sentence" in hard


def test_undo_removes_the_last_exchange_and_restart_starts_over(persona):
    session = loop(persona, ScriptedChatModel(replies=["One.", "Two."]))
    run(session, "first")
    run(session, "second")
    assert session.undo() is True
    assert [t.text for t in session.turns][-2:] == ["first", "One."]
    session.restart()
    assert len(session.turns) == 1 and session.ending is None
    assert session.undo() is False  # the opening line stays


def test_end_reasons(persona):
    learner_ended = loop(persona, ScriptedChatModel(replies=["Ok."]))
    run(learner_ended, "hello")
    assert learner_ended.end().reason is EndReason.LEARNER_ENDED
    with pytest.raises(SessionError):
        run(learner_ended, "are you still there?")

    limited = loop(persona, ScriptedChatModel(replies=["One.", "Two."]), max_turns=2)
    run(limited, "a")
    done = run(limited, "b")[-1]
    assert done.ending.reason is EndReason.TURN_LIMIT and limited.ended

    walked_out = loop(persona, ScriptedChatModel(replies=["I think we're done here. [END]"]))
    done = run(walked_out, "Let me show you our pricing tiers.")[-1]
    assert done.ending.reason is EndReason.PERSONA_ENDED
    assert done.turn.text == "I think we're done here."


def test_failed_model_call_keeps_the_message_and_retry_answers_it(persona):
    model = ScriptedChatModel(replies=["Recovered."], fail_with=[RuntimeError("connection reset")])
    session = loop(persona, model)
    with pytest.raises(ModelError, match="the persona model .* failed: connection reset"):
        run(session, "What matters most to you?")
    assert session.awaiting_reply and session.turns[-1].text == "What matters most to you?"
    with pytest.raises(SessionError):
        run(session, "another message")
    events = run(session, None)
    assert events[-1].turn.text == "Recovered."
    assert [t.text for t in session.turns[1:]] == ["What matters most to you?", "Recovered."]


def test_out_of_character_reply_is_generated_again(persona):
    model = ScriptedChatModel(replies=["As an AI language model, I cannot have opinions.", "*frowns* Odd question."])
    session = loop(persona, model)
    events = run(session, "What do you think?")
    assert any(isinstance(e, Reset) for e in events)
    assert events[-1].turn.text == "*frowns* Odd question."
    assert "Reminder: you are Dana Whitfield" in model.prompts[1][-1].content


def test_persona_never_agrees_it_is_a_machine(persona):
    session = loop(persona, ScriptedChatModel(replies=["Yes. I run on a server.", "Yes, I am."]))
    text = run(session, "Be honest, are you an AI?")[-1].turn.text
    assert not text.lower().startswith("yes") and character_breaks(text, "Be honest, are you an AI?") == []
    assert character_breaks("Yes, I am.", "are you a bot?") == ["agrees it is a machine"]
    assert character_breaks("Yes, I'm real.", "are you a real person?") == []


def test_empty_and_huge_messages(persona):
    model = ScriptedChatModel(replies=["That's a lot."])
    session = loop(persona, model)
    with pytest.raises(SessionError, match="type a message first"):
        run(session, "   ")
    huge = "word " * 20_000
    assert run(session, huge)[-1].turn.text == "That's a lot."
    assert session.turns[1].text == huge.strip()  # kept whole in the transcript
    assert len(model.prompts[0][-1].content) < 2_100  # clipped in the prompt


def test_prompt_stays_bounded_in_long_conversations(persona):
    model = ScriptedChatModel(respond=lambda messages: "Right. Tell me more about the rollout plan and the costs.")
    session = Session(persona, model, max_turns=500)
    sizes = {}
    for turn in range(1, 201):
        run(session, f"Message number {turn}: how would the integration with your SAP system work for the Venlo site?")
        sizes[turn] = sum(len(m.content) for m in model.prompts[-1])
    # the window moves in steps (so the prompt's start stays put between them): bounded by one step's worth
    assert max(sizes[t] for t in range(150, 201)) <= max(sizes[t] for t in range(20, 41)) * 1.1
    # system + at most 19 recent turns with the notes of the persona's replies + this turn's note
    assert len(model.prompts[-1]) <= 1 + 19 + 10 + 1
    assert "Earlier in this conversation" in model.prompts[-1][0].content


def test_clean_reply_trims_what_base_models_add():
    labels = ["Dana Whitfield", "Dana", "Rep"]
    assert clean_reply("Dana: Sure. Rep: And then?", labels) == "Sure."
    assert clean_reply("We tried that. It failed because the", labels) == "We tried that."
    assert clean_reply('"Fine."', labels) == "Fine."


def test_sessions_can_stream_concurrently(persona):
    async def one(i: int) -> str:
        session = loop(persona, ScriptedChatModel(replies=[f"Reply {i}."], delay=0.01))
        async for event in session.send(f"hello {i}"):
            last = event
        return last.turn.text

    async def main():
        return await asyncio.gather(*(one(i) for i in range(8)))

    assert asyncio.run(main()) == [f"Reply {i}." for i in range(8)]


def test_reading_a_turn_with_the_coder_does_not_stall_other_sessions(persona):
    """The learned coder costs CPU on every turn; other learners' replies must keep streaming meanwhile."""
    import threading
    import time

    from simulator.signals import TurnReader, default_coder

    coder = default_coder()
    reading = threading.Event()

    class SlowCoder:  # the real coder, made slow enough that a stalled event loop would be unmistakable
        def code(self, context, response):
            reading.set()
            time.sleep(0.3)
            codes = coder.code(context, response)
            reading.clear()
            return codes

    async def main():
        ticks_while_reading = 0
        finished = False

        async def other_session():
            nonlocal ticks_while_reading
            while not finished:
                ticks_while_reading += reading.is_set()
                await asyncio.sleep(0.005)

        session = Session(persona, ScriptedChatModel(replies=["Go on."]), reader=TurnReader(coder=SlowCoder()))
        watcher = asyncio.create_task(other_session())
        async for event in session.send("That sounds frustrating. What happened with Veritrack?"):
            last = event
        finished = True
        await watcher
        return last, ticks_while_reading, session

    last, ticks, session = asyncio.run(main())
    assert isinstance(last, ReplyDone) and session.dynamics.trajectory  # the turn was read and answered
    assert ticks > 10
