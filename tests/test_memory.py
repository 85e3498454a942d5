"""Memory across sessions, persona knowledge by relevance, and judge exemplars: the three uses of chromadb."""

from __future__ import annotations

import asyncio

import pytest

from rapport.service import Practice
from simulator.models import ScriptedChatModel
from simulator.persona.spec import KnowledgeEntry
from simulator.store import SessionStore
from simulator.store.database import dispose_all
from simulator.vectors.client import close_clients

PROMISE = "I'll send you the case study from our SAP customer by Friday."


@pytest.fixture
def practice(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    yield Practice(SessionStore())
    dispose_all()
    close_clients()


def play(practice: Practice, persona, learner: str, lines: list[str]) -> tuple:
    model = ScriptedChatModel(respond=lambda messages: "Noted. Go on.")
    run = practice.start(persona, model, learner=learner)
    session = run.session
    for line in lines:
        list(session.send_sync(line))
    session.end()
    graded = asyncio.run(practice.finish(run))
    return session, model, graded


def test_memory_written_in_one_session_is_recalled_and_used_in_the_next(practice, library):
    dana = library.get("procurement-skeptic")
    play(practice, dana, "ana", ["What went wrong with Veritrack?", PROMISE])
    model = ScriptedChatModel(respond=lambda messages: "Did you bring it?")
    second = practice.start(dana, model, learner="ana")
    assert second.remembered >= 2
    list(second.session.send_sync("Good to see you again, Dana."))
    note = model.prompts[0][-1].content  # what is recalled changes turn by turn, so it is in the note, not the prefix
    assert "You remember from earlier conversations with them" in note
    assert "case study from our SAP customer" in note
    other = practice.start(dana, ScriptedChatModel(respond=lambda m: "Hello."), learner="ben")
    assert other.remembered == 0  # memories belong to one learner with one persona


def test_consistency_rewards_following_up_and_costs_forgetting(practice, library):
    dana = library.get("procurement-skeptic")
    play(practice, dana, "ana", ["What went wrong with Veritrack?", PROMISE])
    _, _, kept = play(practice, dana, "ana", [
        "Last time I said I'd send the case study from our SAP customer, so here it is, as promised.",
        "What would you like to check in it first?",
    ])
    play(practice, dana, "cem", ["What went wrong with Veritrack?", PROMISE])
    _, _, forgot = play(practice, dana, "cem", [
        "Thanks for making time again. What matters most to your team right now?",
        "What would you like to check first?",
    ])
    kept_score, forgot_score = kept.offline.criteria["consistency"], forgot.offline.criteria["consistency"]
    assert "followed up on an earlier promise in turn 1" in kept_score.rationale
    assert "did not come back to" in forgot_score.rationale and "case study" in forgot_score.rationale
    assert kept_score.score > forgot_score.score


def test_knowledge_is_retrieved_by_relevance_for_long_dossiers(library):
    from simulator.session import Session

    dana = library.get("procurement-skeptic")
    extra = [
        KnowledgeEntry(id="hockey", keywords=["weekend"], content="Dana coaches her daughter's field hockey team on Saturdays."),
        KnowledgeEntry(id="cfo", keywords=["finance"], content="The CFO, Marleen Bos, signs off any purchase above 250,000 euros."),
        KnowledgeEntry(id="contract", keywords=["contract"], content="Veritrack's contract had no exit clause; Norvale paid 90,000 euros to leave it."),
        KnowledgeEntry(id="timeline", keywords=["dates"], content="Peak season starts in October, so go-live must happen before September."),
        KnowledgeEntry(id="union", keywords=["staff"], content="The works council must be consulted before new scheduling software changes shifts."),
    ]
    long_dossier = dana.model_copy(update={"knowledge": dana.knowledge + extra})
    model = ScriptedChatModel(respond=lambda messages: "Go on.")
    session = Session(long_dossier, model)
    list(session.send_sync("How did leaving Veritrack work out? Was getting out of that agreement expensive?"))
    note = model.prompts[0][-1].content  # retrieved for this turn: in the note the model reads last
    assert "paid 90,000 euros to leave it" in note
    assert "works council" not in note and "works council" not in model.prompts[0][0].content  # only what is relevant
    facts = note.split("Facts you know, to use if relevant: ")[1]
    assert 1 <= sum(entry.content in facts for entry in long_dossier.knowledge) <= 3


def test_a_corrupted_vector_store_never_breaks_the_chat(practice, library, tmp_path):
    dana = library.get("procurement-skeptic")
    play(practice, dana, "ana", ["What went wrong with Veritrack?", PROMISE])
    close_clients()
    for path in (tmp_path / "chroma").rglob("*.sqlite3"):
        path.write_bytes(b"this is not a database" * 100)
    model = ScriptedChatModel(respond=lambda messages: "Well?")
    session = practice.start(dana, model, learner="ana").session
    list(session.send_sync("Good to see you again."))
    assert session.turns[-1].text.endswith("Well?")
    assert "case study from our SAP customer" in model.prompts[0][-1].content  # rebuilt from the SQL store


def test_the_judge_is_grounded_with_similar_annotated_examples(library):
    from evals.judge import Judge
    from evals.rubric import load_rubric
    from evals.scorecard import Scorecard  # noqa: F401 - the judge returns one

    from .test_evaluator import judge_reply, transcript_of

    rubric = load_rubric()
    model = ScriptedChatModel(replies=[judge_reply(rubric)])
    transcript = transcript_of("I keep forgetting my tablets.", "You should just set an alarm.")
    asyncio.run(Judge(model, None, rubric).grade(transcript))
    user = model.prompts[0][1].content
    assert "<examples>" in user and "</examples>" in user
    assert user.index("</transcript>") < user.index("<examples>")  # examples sit outside the transcript data
