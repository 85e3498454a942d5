"""Offline tests of the sentence embedder and the behavioural coder (real model, real weights)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simulator.coder import BehaviourCoder, TurnCodes, conversation_empathy, load_coder
from simulator.coder.advice_consent import asks_for_advice, asks_permission
from simulator.coder.agreement import auroc, macro_f1, spearman
from simulator.coder.questions import classify_turn
from simulator.coder.splits import is_heldout, split_of
from simulator.embeddings import SentenceEmbedder, get_embedder

MEDS = "I keep forgetting my meds, and honestly I'm scared of what they'll do to me."


@pytest.fixture(scope="module")
def coder() -> BehaviourCoder:
    return load_coder()


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return get_embedder()


# --- embedder -------------------------------------------------------------------------------


def test_embeddings_are_unit_float32_rows(embedder: SentenceEmbedder) -> None:
    vectors = embedder.embed(["Hello there.", "A much longer sentence about medication and side effects.", "ok"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


def test_embedding_does_not_depend_on_batch_company(embedder: SentenceEmbedder) -> None:
    alone = embedder.embed(["Did you take your pills today?"])
    padded = embedder.embed(["word " * 200, "Did you take your pills today?", "ok"])[1:]
    np.testing.assert_allclose(alone[0], padded[0], atol=1e-4)


def test_embeddings_put_paraphrases_closer_than_unrelated_text(embedder: SentenceEmbedder) -> None:
    a, b, c = embedder.embed(
        [
            "I'm scared of the side effects of my pills.",
            "I'm afraid of what the medication will do to me.",
            "The train to Leeds leaves at noon.",
        ]
    )
    assert a @ b > 0.6 > a @ c + 0.3


def test_long_text_is_truncated_not_rejected(embedder: SentenceEmbedder) -> None:
    assert embedder.token_count("word " * 1000) == 128
    assert embedder.embed(["word " * 1000]).shape == (1, 384)


def test_embed_rejects_a_bare_string(embedder: SentenceEmbedder) -> None:
    with pytest.raises(TypeError):
        embedder.embed("not a list")  # type: ignore[arg-type]


def test_get_embedder_is_cached() -> None:
    assert get_embedder() is get_embedder()


# --- coder: the unmistakable cases ----------------------------------------------------------


def test_open_question(coder: BehaviourCoder) -> None:
    codes = coder.code(MEDS, "What has been the hardest part of this for you?")
    assert codes.question == "open"
    assert codes.advice is False


def test_closed_question(coder: BehaviourCoder) -> None:
    assert coder.code(MEDS, "Did you take your pills today?").question == "closed"


def test_complex_reflection(coder: BehaviourCoder) -> None:
    codes = coder.code(
        MEDS, "It sounds like the fear of side effects is weighing on you more than the forgetting itself."
    )
    assert codes.reflection == "complex"
    assert codes.question == "none"
    assert codes.interpretation >= 1


def test_advice_is_not_a_reflection(coder: BehaviourCoder) -> None:
    assert coder.code(MEDS, "You should just set an alarm and take them every morning.").reflection == "none"


def test_unsolicited_advice(coder: BehaviourCoder) -> None:
    assert coder.code(MEDS, "You should just set an alarm and take them every morning.").advice is True


def test_advice_that_was_asked_for_is_not_flagged(coder: BehaviourCoder) -> None:
    asked = "I keep forgetting my meds. What should I do?"
    assert coder.code(asked, "You should just set an alarm and take them every morning.").advice is False


def test_advice_after_asking_permission_is_not_flagged(coder: BehaviourCoder) -> None:
    response = "Would it be okay if I shared an idea? Some people set an alarm and take them every morning."
    assert coder.code(MEDS, response).advice is False


def test_affirmation(coder: BehaviourCoder) -> None:
    context = "I finally went to the gym three times this week, first time in years."
    praised = coder.code(context, "That's great, you should be really proud of yourself for sticking with it!")
    asked = coder.code(context, "Which gym do you go to?")
    assert praised.affirmation is True
    assert asked.affirmation is False


def test_uptake_high_versus_low(coder: BehaviourCoder) -> None:
    context = "I think the answer is twelve because I multiplied three by four."
    built_on = coder.code(context, "Why did you decide to multiply three by four to get twelve?")
    ignored = coder.code(context, "Okay, everybody turn to page forty.")
    assert built_on.uptake > ignored.uptake + 0.15


def test_empathic_reply_scores_higher_than_dismissive_one(coder: BehaviourCoder) -> None:
    warm = coder.code(MEDS, "I'm so sorry, that sounds really frightening. What worries you most about them?")
    cold = coder.code(MEDS, "Just take them.")
    assert warm.empathy > cold.empathy + 0.5
    assert warm.exploration >= 1
    assert coder.code(MEDS, "I'm so sorry, that sounds really frightening.").emotional_reaction >= 1
    assert cold.emotional_reaction == 0
    assert conversation_empathy([warm, cold]) == pytest.approx((warm.empathy + cold.empathy) / 2)


def test_batch_matches_single_calls_and_empty_context_works(coder: BehaviourCoder) -> None:
    pairs = [(MEDS, "Did you take your pills today?"), ("", "Hi, I'm Sam. How are you today?"), (MEDS, "ok")]
    batch = coder.code_batch(pairs)
    singles = [coder.code(c, r) for c, r in pairs]
    for b, s in zip(batch, singles):
        assert b.model_dump(exclude={"uptake", "empathy"}) == s.model_dump(exclude={"uptake", "empathy"})
        assert b.uptake == pytest.approx(s.uptake, abs=1e-3) and b.empathy == pytest.approx(s.empathy, abs=1e-3)
    assert all(isinstance(c, TurnCodes) for c in batch)
    assert coder.code_batch([]) == []


def test_turn_codes_forbid_unknown_fields_and_check_ranges() -> None:
    valid = dict(
        emotional_reaction=0,
        interpretation=1,
        exploration=2,
        reflection="none",
        question="open",
        affirmation=False,
        advice=False,
        uptake=0.5,
        empathy=3.0,
    )
    TurnCodes(**valid)
    with pytest.raises(ValidationError):
        TurnCodes(**valid, warmth=1)
    with pytest.raises(ValidationError):
        TurnCodes(**{**valid, "empathy": 6.0})
    with pytest.raises(ValidationError):
        TurnCodes(**{**valid, "exploration": 3})


# --- rules and statistics (no model) --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Tell me more about that.", "open"),
        ("Could you say more about what happened next?", "open"),
        ("I'm curious, what made you decide that?", "open"),
        ("How many times did you forget this week?", "closed"),
        ("That must be hard, isn't it?", "closed"),
        ("You stopped?", "closed"),
        ("Is it the cost or the side effects?", "closed"),
        ("Did you take them? And what got in the way?", "open"),
        ("It sounds like you're worn out.", "none"),
    ],
)
def test_question_rules(text: str, kind: str) -> None:
    assert classify_turn(text) == kind


def test_advice_consent_rules() -> None:
    assert asks_for_advice("Honestly, what would you do in my place?")
    assert asks_for_advice("Do you have any tips for remembering?")
    assert not asks_for_advice("I don't know what to do anymore.")
    assert asks_permission("Can I offer a suggestion?")
    assert not asks_permission("You should try an alarm.")


def test_agreement_statistics_match_hand_computed_values() -> None:
    assert auroc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert auroc([1, 1], [True, False]) == pytest.approx(0.5)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1], [0, 1]) == pytest.approx((2 / 3 + 0.8) / 2)


def test_split_is_deterministic_and_near_twenty_percent() -> None:
    assert split_of("epitome", "65m92s") == split_of("epitome", "65m92s")
    share = np.mean([is_heldout("esconv", f"conversation-{i}") for i in range(5000)])
    assert 0.18 < share < 0.22
