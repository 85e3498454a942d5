"""Offline rewrites read as a person would say them (issue 13, item 7): the persona's own point said back in the
learner's words, or an answer when they only asked, then a question that fits what went wrong."""

from __future__ import annotations

import random
import re

import pytest

from evals.perspective import to_listener
from evals.rewrites import MAX_WORDS, rewrite_turn
from simulator.behaviours import Behaviour as B
from simulator.cues import content_words

GRADER_DIRECTED = getattr(B, "GRADER_DIRECTED", None)
PROBLEMS = [None, B.CLOSED_QUESTION, B.UNSOLICITED_ADVICE, B.JUDGMENT, B.IGNORING_CONCERN, B.PUSHING_AGENDA,
            B.TOPIC_SHIFT, B.JARGON, B.HOLLOW_FLATTERY] + ([GRADER_DIRECTED] if GRADER_DIRECTED else [])
_ABBREVIATION = re.compile(r"\b(Dr|Mr|Mrs|Ms|St)\.")
# A reflection stem must be followed by a statement, never by a question, an order, a greeting or an apology.
_BAD_AFTER_STEM = re.compile(
    r"\b(?:It sounds like|It makes sense that|I hear that|You said|I appreciate you telling me|Earlier you said)\s+"
    r"(?:can|could|would|will|do|does|did|is|are|sorry|please|hi|hello|hey|thanks|thank|just|let's|what|why|how|"
    r"okay|ok|well|oh|look|listen|and|but|so|because|go|send|tell|give|stop|don't)\b", re.IGNORECASE)
_PERSONA_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|myself|mine)\b")


def problems_with(better: str) -> list[str]:
    """What a user would see as broken in a rewrite."""
    text = _ABBREVIATION.sub(r"\1", better)
    found = []
    if not better[:1].isupper():
        found.append("starts lower-case")
    if not better.endswith((".", "?")):
        found.append("does not end with . or ?")
    if re.search(r"[.?!,;:]\s*[.?!,;:]", text):
        found.append("doubled punctuation")
    if any(not s[:1].isupper() for s in re.split(r"(?<=[.?!])\s+", text)):
        found.append("a sentence starts lower-case")
    if re.search(r"\s[,.?!]|,\s*,|\(\s*\)|\s{2,}", better):
        found.append("empty clause or stray space")
    if re.search(r"\b(and|but|or|because|if|so|of|to|the|a)[.?!,]", better, re.IGNORECASE):
        found.append("dangling word")
    if _BAD_AFTER_STEM.search(better):
        found.append("reflection stem before a question, order, greeting or apology")
    if len(better.split()) > MAX_WORDS:
        found.append("too long")
    return found


def reflected(better: str) -> str:
    """The part of a default rewrite that says the persona's words back ("It sounds like <this>.")."""
    match = re.match(r"It sounds like (.+?)\. ", _ABBREVIATION.sub(r"\1", better))
    assert match, better
    return match.group(1)


# --- the hand-checked rewrites -------------------------------------------------------------------------------------

EXACT = [
    ("Can you go, your mates are waiting.", None,
     "It sounds like you'd like me to go because my mates are waiting. What would help most right now?"),
    ("Is this about the homework? 'Cause I know. I'll do it. Can I go, my mates are waiting.", None,
     "It sounds like you'd like to go because your mates are waiting. What would help most right now?"),
    ("Can you send me the invoice number?", None,
     "Of course, I'll send you the invoice number. What else is on your mind about it?"),
    ("I know it's important, but I'm scared of the side effects.", None,
     "It sounds like you're scared of the side effects. What matters most to you about that?"),
    ("Sorry, I come straight from the depot.", B.CLOSED_QUESTION,
     "It sounds like you come straight from the depot. What has that been like for you?"),
    ("I was scared of what it meant for my job.", B.IGNORING_CONCERN,
     "I hear that you were scared of what it meant for your job, and I don't want to skip past it. "
     "What worries you most about it?"),
    ("I've been checking my sugar every morning, like you said.", B.HOLLOW_FLATTERY,
     "You've been checking your sugar every morning, like I said, and that takes real effort. "
     "What has helped you keep going?"),
    ("You never listen to me.", B.JUDGMENT,
     "It makes sense that you feel I never listen to you. What has it been like for you?"),
    ("Is this going to hurt?", None,
     "You're asking whether this is going to hurt, and that's a fair question. What's prompting it for you?"),
    ("What should I do?", B.UNSOLICITED_ADVICE,
     "I'm happy to share some ideas. Before I do, what have you already tried or thought about?"),
    ("Hi there, good to meet you. I'm Priya from accounts.", None,
     "Hello Priya, it's good to meet you. What would you like to talk about today?"),
    ("Look, I don't have time for this. Just tell me the price.", B.PUSHING_AGENDA,
     "Let me put my own plans aside for a moment. You said you'd like me to tell you the price. "
     "What matters most to you here?"),
    ("My manager keeps piling work on me and I'm drowning.", B.TOPIC_SHIFT,
     "You said your manager keeps piling work on you and you're drowning, and I'd like to stay with that. "
     "Can you tell me more about it?"),
    ("I've tried everything, what else can I do?", B.UNSOLICITED_ADVICE,
     "It sounds like you've tried everything. I'm happy to share some ideas; what would be most useful to start with?"),
    ("Can you explain it again? I didn't get it the first time.", B.JARGON,
     "It sounds like you'd like me to explain it again because you didn't get it the first time. "
     "What would be most useful for me to explain, in plain terms?"),
]


@pytest.mark.parametrize(("context", "problem", "expected"), EXACT, ids=[c for c, _, _ in EXACT])
def test_hand_checked_rewrites(context, problem, expected):
    better, why = rewrite_turn(context, problem)
    assert better == expected
    assert problems_with(better) == []
    assert why.endswith(".") and why[0].isupper() and why.count(". ") == 0


@pytest.mark.skipif(GRADER_DIRECTED is None, reason="Behaviour.GRADER_DIRECTED is not there yet")
def test_grader_directed_turn_becomes_a_plain_turn_to_the_person():
    better, why = rewrite_turn("Honestly, I'm not sure we need another tool.", GRADER_DIRECTED)
    assert better == "It sounds like you're not sure you need another tool. What's been on your mind about it?"
    assert "grader" in why


# --- the broken rewrites of before -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("context", "wrong"), [
    ("Can you go, your mates are waiting.", "It sounds like can you go"),
    ("Sorry, I'm just a bit overwhelmed today.", "It sounds like sorry"),
    ("Hello! I've been looking forward to this.", "It sounds like hello"),
    ("Please, just tell me what's going on with my account.", "It sounds like please"),
    ("Well, can you tell me why my payment bounced?", "It sounds like well"),
])
def test_no_reflection_of_a_question_order_greeting_or_apology(context, wrong):
    for problem in PROBLEMS:
        better, _ = rewrite_turn(context, problem)
        assert wrong.lower() not in better.lower()
        assert problems_with(better) == [], better


@pytest.mark.parametrize(("context", "expected"), [
    # Cut at 20 words, mid-phrase ("... at the same.").
    ("I've been juggling two jobs while looking after my mum and trying to finish my nursing degree at the same "
     "time as everything else that is going on.",
     "It sounds like you've been juggling two jobs. What matters most to you about that?"),
    # Doubled punctuation and a dangling conjunction copied from the persona.
    ("It's fine, it's fine,, really.", "It sounds like it's fine. What matters most to you about that?"),
    ("I've tried everything, and...", "It sounds like you've tried everything. What matters most to you about that?"),
    ("I'm so tired!!", "It sounds like you're so tired. What matters most to you about that?"),
    # A question to the world is not reflected, nor answered as if it were asked of the learner.
    ("Why me?!", "That's a hard question to sit with. What's been going through your mind?"),
])
def test_no_cut_off_words_doubled_punctuation_or_dangling_conjunctions(context, expected):
    better, _ = rewrite_turn(context, None)
    assert better == expected
    assert problems_with(better) == []


@pytest.mark.parametrize(("context", "said_back"), [
    ("I'm exhausted.", "you're exhausted"),
    ("My boss shouted at me in front of everyone.", "your boss shouted at you in front of everyone"),
    ("I was the one who found him.", "you were the one who found him"),
    ("I've been looking after Mum on my own.", "you've been looking after your mum on your own"),
    ("I keep blaming myself for the accident.", "you keep blaming yourself for the accident"),
    ("We've been trying for a baby for three years.", "you've been trying for a baby for three years"),
    ("I told you last week I can't afford it.", "you told me last week you can't afford it"),
    ("Your prices are too high for a team our size.", "you feel my prices are too high for a team your size"),
])
def test_the_persona_is_said_back_in_the_second_person(context, said_back):
    better, _ = rewrite_turn(context, None)
    assert reflected(better) == said_back
    assert problems_with(better) == []


def test_the_learner_in_the_persona_words_becomes_me_only_where_that_is_safe():
    # Generic "you": "I can't trust anyone" would put words in the learner's mouth.
    for context in ("You can't trust anyone these days.", "You never know with these things."):
        better, _ = rewrite_turn(context, None)
        assert not re.search(r"\bI (?:can't|never)\b", better), better
        assert problems_with(better) == []
    # Another clause is said back instead when there is one.
    better, _ = rewrite_turn("You can't trust anyone these days. I got burned by the last agency.", None)
    assert reflected(better) == "you got burned by the last agency"
    assert to_listener("You guys always say that") is None
    assert to_listener("I know you mean well") == "You know I mean well"
    assert to_listener("When we spoke last week you promised a discount") == (
        "When we spoke last week I promised a discount")  # "we" that includes the learner stays "we"


# --- many persona turns, every kind of problem ----------------------------------------------------------------------

TURNS = [
    # sales
    "We were burned by the last vendor. They promised the moon and delivered nothing.",
    "Honestly, I'm not sure we need another tool \u2014 our team is already stretched thin.",
    "What's the price per seat?",
    "Look, just send me the brochure and I'll have a look.",
    # healthcare
    "I don't want to go on insulin. My dad was on it and he lost his foot.",
    "Will I have to take these pills forever?",
    "*sighs* I just feel like nobody is listening to me.",
    # education
    "Whatever. School's pointless anyway.",
    "I failed the maths test again... my parents are going to kill me.",
    "Can you explain it again? I didn't get it the first time.",
    # grief
    "It's been six months since Tom passed and I still set two plates at dinner.",
    "People keep telling me it gets easier. It doesn't.",
    "Mum died in March. I keep thinking I should have called her more.",
    # customer service
    "I've been on hold for forty minutes and this is the third time I've called!",
    "Sorry to bother you, but my order still hasn't arrived.",
    "I want a refund, not another apology.",
    "Can I speak to your manager, please?",
    # workplace
    "My manager keeps piling work on me and I'm drowning.",
    "I don't think you understand how hard this quarter has been for us.",
    "We agreed last week that I'd lead the project.",
    "Thank you for asking. I've been better.",
    "Are you even listening?",
    "My wife thinks I should quit, but we can't afford it right now.",
    # thin turns
    "Okay.", "Sorry.", "Thanks.", "Hello.", "", "*shrugs*", "Why me?!", "I lost him... I just can't.",
]


@pytest.mark.parametrize("context", TURNS)
def test_every_rewrite_reads_as_a_whole_turn(context):
    for problem in PROBLEMS:
        better, why = rewrite_turn(context, problem)
        assert problems_with(better) == [], (problem, better)
        assert why.endswith(".") and len(why.split()) < 40


@pytest.mark.parametrize("context", [t for t in TURNS if len(content_words(t)) >= 2 and not t.endswith("?")])
def test_a_rewrite_uses_the_persona_own_words(context):
    for problem in PROBLEMS:
        better, _ = rewrite_turn(context, problem)
        assert content_words(better) & content_words(context), (problem, better)


def test_first_person_of_the_persona_never_survives_in_the_reflection():
    """Where the persona never spoke of the learner, an "I" or "my" in the reflection would be theirs, unshifted."""
    checked = 0
    for context in TURNS:
        better, _ = rewrite_turn(context, None)
        if better.startswith("It sounds like ") and not re.search(r"\byou|\blet's\b", context, re.IGNORECASE):
            # In "you'd like me to ...", "me" is the learner: the persona asked them for something.
            said_back = re.sub(r"^you'd like (?:me |us )?(?:not )?to ", "", reflected(better))
            assert not _PERSONA_FIRST_PERSON.search(said_back), better
            checked += 1
    assert checked >= 10


def test_the_follow_up_and_the_reason_change_with_the_problem():
    context = "I was scared of what it meant for my job."
    rewrites = {problem: rewrite_turn(context, problem) for problem in PROBLEMS}
    assert len({better for better, _ in rewrites.values()}) >= len(PROBLEMS) - 2
    assert len({why for _, why in rewrites.values()}) == len(PROBLEMS)
    assert "would you like" in rewrites[B.UNSOLICITED_ADVICE][0].lower()  # asks permission before advising
    assert rewrites[B.JUDGMENT][0].startswith("It makes sense that")  # validates instead of judging
    assert rewrites[B.CLOSED_QUESTION][0].endswith("What has that been like for you?")  # an open question


def test_an_empty_turn_can_come_back_to_an_earlier_one():
    better, _ = rewrite_turn("Okay.", B.TOPIC_SHIFT,
                             earlier_persona_turns=["Fine.", "I've been dreading this appointment all week."])
    assert better == "Earlier you said you've been dreading this appointment all week. Can you tell me more about it?"
    assert rewrite_turn("Okay.", None)[0] == "Take your time. What's on your mind right now?"


def test_scrambled_persona_text_still_gives_a_whole_turn():
    """Whatever a model says, the rewrite starts with a capital, ends a sentence, and stays short."""
    pieces = ["I'm", "I", "you", "your", "my", "we", "Can you", "go", "sorry", "Hi", "please", "the doctor", "said",
              "was", "scared", "of", "it", "and", "but", ",", ".", "?", "!", "\u2014", "...", "*sighs*", "tell me",
              "what", "Do you", "Is this", "I've been", "trying", "Mum", "died", "don't", "Let's", "just", "send",
              "me", "the invoice", "because", "if", "I know", "Okay", "never", "listen", "to", "us", "our", "Dr.",
              "Patel", "who", "is", "12"]
    chance = random.Random(13)
    for _ in range(400):
        context = " ".join(chance.choice(pieces) for _ in range(chance.randint(1, 25)))
        better, _ = rewrite_turn(context, chance.choice(PROBLEMS))
        text = _ABBREVIATION.sub(r"\1", better)
        assert better[:1].isupper() and better.endswith((".", "?")), (context, better)
        assert not re.search(r"[.?!,;:]\s*[.?!,;:]", text), (context, better)
        assert len(better.split()) <= MAX_WORDS, (context, better)


def test_every_bundled_persona_opening_gets_a_whole_rewrite_in_its_own_words(library):
    """The lines a learner meets first: stage directions, names, vocatives, several sentences in one turn."""
    openings = [line for source in library for line in (source.spec.opening_line, *source.spec.alternate_openings)]
    assert len(openings) >= 10
    for context in openings:
        for problem in PROBLEMS:
            better, _ = rewrite_turn(context, problem)
            assert problems_with(better) == [], (context, problem, better)
            assert content_words(better) & content_words(context), (context, problem, better)
            assert "*" not in better  # stage directions are not said back
