"""The reply plan: what the persona conveys next, decided by the engine, so a small model only has to say it."""

from __future__ import annotations

from simulator.models.fake import ScriptedChatModel
from simulator.reply_plan import mentions
from simulator.session import Session

GOOD = [
    "Hello Tomasz. Before we talk about tablets, what do you already know or fear about diabetes?",
    "So part of you is proud of the three kilos, and part of you is scared this is how it started for your father."
    " What goes through your mind when you think about starting the metformin?",
]


def _session(library, replies):
    persona = library.get("diabetes-newly-diagnosed")
    model = ScriptedChatModel(replies=replies)
    return persona, model, Session(persona, model)


def test_an_earned_item_is_the_one_thing_to_get_across_in_the_first_person(library):
    persona, model, session = _session(library, ["Okay.", "My father, yes.", "Hm."])
    for line in GOOD:
        list(session.send_sync(line))
    assert session.unlocked == ["self-testing"]
    plan = session.context().plan
    assert "Now tell them, in your own words: I bought a blood glucose meter online and test" in plan
    assert "Reply as Tomasz (I, my)" in plan
    # the note is the last thing the model reads, after the conversation
    list(session.send_sync("What have you been doing to keep an eye on it?"))
    note = model.prompts[-1][-1].content
    assert note.startswith("(Note:") and "blood glucose meter" in note


def test_once_said_an_item_is_no_longer_pushed(library):
    persona, model, session = _session(library, ["Okay.", "My father, yes.",
                                                 "I bought a meter online, I test five, six times a day in the cab."])
    for line in GOOD + ["What have you been doing to keep an eye on it?"]:
        list(session.send_sync(line))
    item = next(i for i in persona.hidden_information if i.id == "self-testing")
    assert mentions(item, persona, session.turns[-1].text)
    assert "blood glucose meter" not in session.context().plan


def test_mentions_needs_the_items_own_words_not_its_public_ones(library):
    persona = library.get("diabetes-newly-diagnosed")
    item = next(i for i in persona.hidden_information if i.id == "licence-fear")
    assert mentions(item, persona, "My mate Des lost his licence after a hypo, and I have to tell the DVLA?")
    assert not mentions(item, persona, "I am worried about the tablets and my father.")


def test_each_earlier_reply_keeps_the_note_it_was_written_from(library):
    """The prompt only grows at its end: earlier notes stay where they were, so a local model reuses its prefix."""
    _, model, session = _session(library, ["Okay.", "My father, yes.", "Hm."])
    list(session.send_sync(GOOD[0]))
    first = [m.content for m in model.prompts[-1]]
    list(session.send_sync(GOOD[1]))
    second = [m.content for m in model.prompts[-1]]
    assert second[:len(first)] == first  # the first prompt, note included, is the start of the second
    session.undo()
    assert sorted(session.prompted) == [2]  # the undone reply's note is gone with it; the earlier one stays
