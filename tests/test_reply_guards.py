"""Named checks on a persona reply before it is stored, and the repairs that need no new generation (issue 25, item 5).

The failing replies are ones small local models (Qwen2.5 1.5B instruct, Gemma 270M) actually produced, or close to.
"""

from __future__ import annotations

import time

import pytest

from simulator.reply_guards import GUARDS, ReplyContext, near_copy, repair, slips

TOMASZ = "diabetes-newly-diagnosed"
GOOD_TOMASZ = [
    "My worry is starting the tablets feels like the first step on the road my father went down.",
    "*shrugs* Fine. Whatever.",
    "Sorry, I know you are busy. Three kilo already, this is something, yes?",
    "*rubs the back of his neck* My father Zbigniew, he also started with one small tablet. Then insulin.",
    "Agnieszka does not know. Ola sends me articles, but I only half read them.",
    "I am 52, I drive the 72 and the 680. Fifteen years, never one accident.",
    "The nurse last time said I must eat less bread. So I eat no bread.",
    "After lunch I'm 11. This is bad, yes?",
    "I just—",
    "I'm Polish, from Gdańsk. My colleague Des, he lost the licence for three months.",
    "It's important to me that I keep driving. I can't help it, I worry.",
]


@pytest.fixture
def tomasz(library):
    return library.get(TOMASZ)


def ctx(persona, learner: str = "", earlier: list[str] | None = None) -> ReplyContext:
    return ReplyContext(persona=persona, learner_text=learner, earlier_replies=earlier or [])


def fired(text: str, context: ReplyContext) -> list[str]:
    """What fires once the reply has been repaired, as the session loop sees it."""
    return slips(repair(text, context), context)


# --- the registry ---------------------------------------------------------------------------------------------------


def test_the_guards_are_registered_by_name_in_order():
    assert list(GUARDS) == [
        "empty", "cut_off", "copies_learner", "repeats_itself", "speaks_as_learner", "label_or_code",
        "assistant_voice", "same_opening_direction", "contradicts_file",
    ]
    assert all(callable(check) and check.__doc__ for check in GUARDS.values())


def test_slips_reports_in_registry_order(tomasz):
    found = slips("Nurse: How are you feeling today, Tomasz? I hope this helps", ctx(tomasz))
    assert found == ["cut_off", "speaks_as_learner", "label_or_code", "assistant_voice"]


# --- good replies pass everything -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", GOOD_TOMASZ)
def test_good_in_character_replies_pass_every_guard(tomasz, reply):
    context = ctx(tomasz, "What worries you most about starting the tablets?", ["*nods too quickly* Okay. Okay."])
    assert repair(reply, context) == reply
    assert slips(reply, context) == []


def test_every_bundled_personas_own_lines_pass(library):
    for persona_id in library.ids():
        p = library.get(persona_id)
        lines = [*p.personality.speech_examples, p.opening_line, *p.alternate_openings,
                 p.outcomes.success.closing_line, p.outcomes.failure.closing_line]
        for line in filter(None, lines):
            context = ctx(p, "Hello, thanks for coming in.")
            assert fired(line, context) == [], (persona_id, line)


# --- empty ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", ["", "   ", "...", "*leans back, arms folded*", "*sighs* ... *looks away*", '""'])
def test_empty(tomasz, reply):
    assert "empty" in fired(reply, ctx(tomasz))


def test_a_reply_that_was_only_a_repeated_gesture_is_empty_once_repaired(library):
    dana = library.get("procurement-skeptic")
    context = ctx(dana, "", ["*leans back, arms folded* Go on."])
    assert repair("*leans back, arms folded*", context) == ""
    assert slips("", context)[0] == "empty"


# --- cut_off ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [
    "I think the tablets are",
    "My father had the tablets and then",
    "*rubs the back of his neck",
    "Three things worry me:",
    "Okay, so the licence,",
])
def test_cut_off(tomasz, reply):
    assert "cut_off" in fired(reply, ctx(tomasz))


def test_repair_ends_on_the_last_finished_sentence_so_cut_off_does_not_fire(tomasz):
    context = ctx(tomasz)
    text = repair("I am worried about the licence. My father had the tablets and then he was on insu", context)
    assert text == "I am worried about the licence."
    assert slips(text, context) == []


# --- copies_learner ---------------------------------------------------------------------------------------------------

LEARNER = "What is it about starting the tablets that worries you most?"


@pytest.mark.parametrize("reply", [
    LEARNER,
    "what is it about starting the tablets that worries you most",
    "What about starting the tablets worries you most?",
    "*nods* What is it about starting the tablets that worries you most? Hmm.",
])
def test_copies_learner(tomasz, reply):
    assert "copies_learner" in fired(reply, ctx(tomasz, LEARNER))


def test_a_long_verbatim_run_of_the_learners_words_is_a_copy(tomasz):
    learner = ("I can see you have lost three kilos already, which is a real effort, and I would like to hear how "
               "you did it before we talk about the tablets.")
    reply = ("Yes. I have lost three kilos already, which is a real effort, and I would like to hear how you "
             "did it. No bread, no potatoes, and the group helps.")
    assert "copies_learner" in fired(reply, ctx(tomasz, learner))


@pytest.mark.parametrize("reply", [
    "Yes, the tablets.",
    "The tablets? Honestly, the licence. And my father.",
    "My worry is starting the tablets feels like the first step on the road my father went down.",
])
def test_sharing_a_few_words_with_the_learner_is_not_a_copy(tomasz, reply):
    assert "copies_learner" not in fired(reply, ctx(tomasz, LEARNER))


def test_a_short_learner_message_is_never_copied(tomasz):
    assert "copies_learner" not in fired("The tablets? Yes.", ctx(tomasz, "The tablets?"))


# --- repeats_itself ---------------------------------------------------------------------------------------------------

EARLIER = [
    "Hello, thank you. Sorry, I come straight from the depot.",
    "My father also started with one small tablet. Then was insulin. Then was the foot.",
    "*nods too quickly* Okay. Okay.",
]


@pytest.mark.parametrize("reply", [
    "My father also started with one small tablet. Then was insulin. Then was the foot.",
    "*looks down at his shoes* My father also started with one small tablet, then insulin, then the foot.",
    "Hello, thank you. Sorry, I come straight from the depot.",
])
def test_repeats_itself(tomasz, reply):
    assert "repeats_itself" in fired(reply, ctx(tomasz, "Tell me more.", EARLIER))


@pytest.mark.parametrize("reply", [
    "Okay. Okay. Say it again slowly, please, like for a bus driver.",
    "My father? He lost his left foot in 2011. I flew back for it.",
    "*shrugs* Fine. Whatever.",
])
def test_new_replies_do_not_repeat(tomasz, reply):
    assert "repeats_itself" not in fired(reply, ctx(tomasz, "Tell me more.", EARLIER + ["*shrugs* Fine. Whatever."]))


def test_near_copy_ignores_stage_directions_and_case():
    assert near_copy("*sighs* THE LICENCE IS MY JOB, MY MORTGAGE, EVERYTHING.", "The licence is my job, my mortgage.")
    assert not near_copy("*sighs* The licence.", "*sighs* The foot.")


# --- speaks_as_learner ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [
    "Nurse: How are you feeling today?",
    "I'm the nurse here, so let me explain how metformin works.",
    "As your nurse, I want you to feel comfortable.",
    "Hi Tomasz, thanks for coming in today.",
    "Hello, Mr Wójcik. Please, sit down.",
    "*smiles* Good afternoon Tomasz! What brings you in?",
    "So how are you feeling about the tablets, Tomasz?",
])
def test_speaks_as_learner(tomasz, reply):
    assert "speaks_as_learner" in fired(reply, ctx(tomasz, "Hello, come in."))


@pytest.mark.parametrize("reply", [
    "Hello. Tomasz Wójcik, I have the appointment at ten past four.",
    "Hello, Tomasz here. Sorry, I am late.",
    "The nurse last time, she said no bread.",
    "Agnieszka asks me every night, are you sleeping?",
])
def test_introducing_itself_or_talking_about_a_nurse_is_not_speaking_as_the_learner(tomasz, reply):
    assert "speaks_as_learner" not in fired(reply, ctx(tomasz, "Hello, come in."))


def test_a_friend_may_speak_as_a_friend(library):
    ben = library.get("grieving-friend")
    assert "speaks_as_learner" not in fired("As your friend, I should have called you back.", ctx(ben))


# --- label_or_code ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [
    "Tomasz: Okay.",
    "Okay. Nurse: And the feet?",
    "Yes. User: tell me more",
    "Assistant: Sure.",
    "**Tomasz:** I am fine.",
    "```python\nprint('hello')\n```",
    "## My concerns\nThe licence.",
    "I will think about it. --- **END**",
    "Things I worry about:\n- the licence\n- the foot",
    "• The licence • The foot",
])
def test_label_or_code_on_the_raw_reply(tomasz, reply):
    assert "label_or_code" in slips(reply, ctx(tomasz))


@pytest.mark.parametrize(("raw", "repaired"), [
    ("Tomasz: Okay. I can try.", "Okay. I can try."),
    ("**Tomasz:** Okay. I can try.", "Okay. I can try."),
    ("Okay, yes. Nurse: And the feet? Tomasz: The feet are fine.", "Okay, yes."),
    ("Nurse: How are you?\nTomasz: Tired, to be honest.", "Tired, to be honest."),
    ("Okay.\nUser: What else?\nAssistant: Nothing.", "Okay."),
    ("I will think about it. --- **END**", "I will think about it."),
    ("I will think about it.\n\n---\n\n**Nurse:** Good.", "I will think about it."),
    ("Okay, I try. [END] Nurse: Bye.", "Okay, I try."),
    ("Here is my plan.\n```\nstart_tablets()\n```\nOkay?", "Here is my plan."),
    ("Okay.\n\nSo.\n  The licence.", "Okay. So. The licence."),
])
def test_repair_removes_labels_code_and_end_markers(tomasz, raw, repaired):
    context = ctx(tomasz)
    assert repair(raw, context) == repaired
    assert slips(repaired, context) == []


def test_a_learners_line_in_the_personas_mouth_survives_repair_and_fires(tomasz):
    context = ctx(tomasz, "Hello, come in.")
    text = repair("Nurse: How are you feeling today?", context)
    assert text == "Nurse: How are you feeling today?"
    assert {"speaks_as_learner", "label_or_code"} <= set(slips(text, context))


@pytest.mark.parametrize("reply", ["I told her: no more bread.", "Six o'clock: first reading. Is high."])
def test_a_colon_in_prose_is_not_a_label(tomasz, reply):
    assert "label_or_code" not in fired(reply, ctx(tomasz))


# --- assistant_voice --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [
    "I'm sorry, but I can't provide any specific details about the last system you mentioned. If you want to learn "
    "more, I suggest contacting Brightline Software directly at their website.",
    "I believe the key is to prioritize clear communication and alignment between the teams.",
    "I cannot help with that.",
    "Sure! Here's a summary of my concerns.",
    "Certainly! The vendor needs a reference customer.",
    "As an AI, I do not have a budget.",
    "We need fixed-price implementation. I hope this helps!",
    "Feel free to send me the contract.",
    "Let me know if you have any other questions.",
    "It's important to involve all stakeholders early.",
    "To choose a vendor: 1. Check references. 2. Fix the price. 3. Agree exit clauses.",
    "That's a great question!",
])
def test_assistant_voice(library, reply):
    dana = library.get("procurement-skeptic")
    assert "assistant_voice" in fired(reply, ctx(dana, "What went wrong with the last system?"))


@pytest.mark.parametrize("reply", [
    "No. I can't give you more than thirty minutes.",
    "It's important to me that this one actually goes live.",
    "Sure, whatever. Send the references.",
    "Let me know when you have a reference customer on S/4HANA.",
    "I'm sorry, but I can't see why that matters.",
])
def test_a_persona_may_refuse_and_insist_in_its_own_voice(library, reply):
    dana = library.get("procurement-skeptic")
    assert "assistant_voice" not in fired(reply, ctx(dana, "What went wrong with the last system?"))


def test_comforting_a_learner_who_shared_no_trouble_is_assistant_voice(tomasz):
    reply = "I'm sorry to hear that. That must be really hard for you."
    assert "assistant_voice" in fired(reply, ctx(tomasz, "I've read the notes from your GP about the metformin."))
    assert "assistant_voice" not in fired(reply, ctx(tomasz, "Sorry I'm late, my mum is ill and I was up all night."))


# --- same_opening_direction -------------------------------------------------------------------------------------------


def test_the_same_opening_gesture_five_replies_in_a_row(library):
    dana = library.get("procurement-skeptic")
    earlier = ["*leans back, arms folded* Go on.", "*leans back, arms folded* And?", "*Leans back,  arms folded* Fine.",
               "*leans back, arms folded* Thirty minutes."]
    reply = "*leans back, arms folded* Veritrack promised six months too."
    context = ctx(dana, "We can go live in six months.", earlier)
    assert "same_opening_direction" in slips(reply, context)
    assert repair(reply, context) == "Veritrack promised six months too."
    assert slips(repair(reply, context), context) == []


def test_the_same_opening_as_two_replies_ago_survives_repair_and_fires(library):
    dana = library.get("procurement-skeptic")
    context = ctx(dana, "", ["*glances at the clock* Go on.", "*raises an eyebrow* And?"])
    text = repair("*Glances at the clock* Five minutes left.", context)
    assert text == "*Glances at the clock* Five minutes left."
    assert slips(text, context) == ["same_opening_direction"]


def test_an_opening_three_replies_ago_is_fine(library):
    dana = library.get("procurement-skeptic")
    context = ctx(dana, "", ["*glances at the clock* Go on.", "*raises an eyebrow* And?", "*makes a note* Fine."])
    assert fired("*glances at the clock* Five minutes left.", context) == []


# --- contradicts_file -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [
    "My name is Marek.",
    "I'm Marek, I drive the 72.",
    "Please, call me Jan.",
    "I'm 45 years old and I never had problems.",
    "I'm 45. Too young for this.",
    "I am a 60-year-old man, nurse.",
    "I work as a nurse at the hospital.",
    "I'm a plumber by trade.",
    "My wife Maria says I must take them.",
    "My daughter Anna studies pharmacy.",
    "My father, Jerzy, had the same.",
    "My colleague Agnieszka lost her licence.",
])
def test_contradicts_file(tomasz, reply):
    assert "contradicts_file" in fired(reply, ctx(tomasz))


@pytest.mark.parametrize("reply", [
    "My name is Tomasz. Tomasz Wójcik.",
    "Call me Tom, everybody does.",
    "I'm Polish, from Gdańsk.",
    "I'm Ola's father, she studies pharmacy.",
    "I'm 52. Fifteen years on the buses.",
    "After lunch I'm 11. This is bad, yes?",
    "I work as a bus driver for Aire Valley.",
    "My wife Agnieszka, she is a school cook.",
    "My daughter Ola sends me articles.",
    "My late father Zbigniew lost his foot.",
    "My colleague Des lost his licence. My mate Kris too.",
    "My ex-wife Maria? No, no. Only Agnieszka.",
    "He used to call me Grandad at the depot.",
])
def test_consistent_facts_pass(tomasz, reply):
    assert "contradicts_file" not in fired(reply, ctx(tomasz))


def test_facts_are_read_from_each_persona_file(library):
    kayla = library.get("disengaged-student")
    assert "contradicts_file" not in fired("My brother Alfie is six. My mum Lisa works nights.", ctx(kayla))
    assert "contradicts_file" in fired("My brother Jayden is six.", ctx(kayla))
    assert "contradicts_file" in fired("I'm 14. Whatever.", ctx(kayla))
    assert "contradicts_file" not in fired("I'm Year 11, miss. I'm 16, not stupid.", ctx(kayla))
    peggy = library.get("ambivalent-drinker")
    assert "contradicts_file" not in fired("My husband Richard plays golf. Call me Peggy.", ctx(peggy))
    assert "contradicts_file" in fired("My husband David plays golf.", ctx(peggy))
    assert "contradicts_file" in fired("I'm 70 years old, you know.", ctx(peggy))


@pytest.mark.xfail(strict=True, reason="what happened to a relative is not checked mechanically, only names and age")
def test_a_contradicted_event_in_the_story(tomasz):
    assert "contradicts_file" in fired("My father did not get the foot amputation because he was too healthy.",
                                       ctx(tomasz))


# --- cost -------------------------------------------------------------------------------------------------------------


def test_checks_are_cheap(tomasz):
    earlier = [f"Reply {i}: the licence, the foot, the mortgage and the group, again and again, number {i}." * 3
               for i in range(30)]
    learner = "Tell me more about the licence and what your colleague told you about the DVLA and the tablets. " * 3
    context = ctx(tomasz, learner, earlier)
    reply = "*rubs the back of his neck* " + "My colleague Des was taken off the road for three months. " * 8
    start = time.perf_counter()
    for _ in range(50):
        slips(repair(reply, context), context)
    assert time.perf_counter() - start < 2.0


def test_a_sentence_said_before_is_dropped_when_something_new_is_left(tomasz):
    earlier = ["*looks worried* I feel like a superhero now. Okay."]
    context = ctx(tomasz, "What have you noticed?", earlier)
    assert repair("*nods too quickly* My feet tingle at night. I feel like a superhero now.", context) == \
        "*nods too quickly* My feet tingle at night."
    assert repair("I feel like a superhero now.", context) == "I feel like a superhero now."  # left for the guard


def test_calling_itself_by_name_at_the_end_is_the_learner_speaking(library):
    dana = library.get("procurement-skeptic")
    assert "speaks_as_learner" in fired("I see. Thank you for the reminder, Dana.", ctx(dana, "Hello.", []))
    assert "speaks_as_learner" not in fired("Thanks. Send it to Marleen, then.", ctx(dana, "Hello.", []))


def test_markdown_bold_is_not_speech(library):
    dana = library.get("procurement-skeptic")
    assert "label_or_code" in fired("It was a tough sell. **What went wrong with Veritrack?** I was worried.",
                                    ctx(dana, "What went wrong with Veritrack?", []))


def test_a_gesture_repeated_inside_every_reply_is_dropped(tomasz):
    earlier = ["*nods* I test a lot. *looks at the floor* It scares me."]
    context = ctx(tomasz, "What happens then?", earlier)
    assert repair("I skip meals. *looks at the floor* Then I feel shaky.", context) == "I skip meals. Then I feel shaky."
    assert repair("I skip meals. *rubs his eyes* Then I feel shaky.", context) == \
        "I skip meals. *rubs his eyes* Then I feel shaky."


def test_a_polite_refusal_is_an_assistant_not_a_patient(tomasz):
    assert "assistant_voice" in fired("I'm sorry for the confusion, but I cannot address your concern about my bus"
                                      " licence at this time.", ctx(tomasz, "What's been on your mind?", []))
