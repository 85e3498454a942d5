"""Vector indexes on Chroma: local and client/server mode, knowledge, memory, judge exemplars, recovery.

Offline: the MiniLM embedder runs in-process, the Chroma server is a real `chroma run` on 127.0.0.1, and
"OpenAI" embeddings come from a tiny local server. Every test gets its own RAPPORT_HOME (see conftest).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from simulator.errors import ConfigError, DataFileError, ModelError
from simulator.paths import rapport_home
from simulator.persona.spec import KnowledgeEntry
from simulator.vectors import (
    KnowledgeIndex,
    MemoryIndex,
    MemoryItem,
    VectorCollection,
    VectorStoreError,
    close_clients,
    embedding_spec,
    vector_client,
)
from simulator.vectors.labelled_set import ENTRIES, QUERIES, measure_recall

from .chroma_support import chroma_server, free_port, running_chroma, use_server  # noqa: F401 - chroma_server is a fixture

SITES_QUESTION = "which sites went live on Veritrack?"


@pytest.fixture(autouse=True)
def fresh_clients():
    """Each test opens its own clients (its RAPPORT_HOME differs); close them so none leak into the next."""
    close_clients()
    yield
    close_clients()


# ---------------------------------------------------------------------------------- a fake embeddings API


class FakeEmbeddings(ThreadingHTTPServer):
    """POST /v1/embeddings on 127.0.0.1: hashed bag-of-words vectors (64-d); records what it was asked to embed."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _EmbeddingsHandler)
        self.inputs: list[str] = []
        self.keys: list[str] = []
        self.accepted_key = "sk-test-secret"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def bag_of_words(text: str, dim: int = 64) -> list[float]:
    vector = np.zeros(dim, dtype=np.float32)
    for word in "".join(c if c.isalnum() else " " for c in text.lower()).split():
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % dim] += 1.0
    return (vector / max(float(np.linalg.norm(vector)), 1e-9)).tolist()


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    server: FakeEmbeddings

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        self.server.keys.append(key)
        if self.path != "/v1/embeddings" or key != self.server.accepted_key:
            status, reply = 401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error"}}
        else:
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            self.server.inputs.extend(texts)
            status, reply = 200, {
                "object": "list", "model": body["model"], "usage": {"prompt_tokens": 0, "total_tokens": 0},
                "data": [{"object": "embedding", "index": i, "embedding": bag_of_words(text)}
                         for i, text in enumerate(texts)],
            }
        payload = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_embeddings() -> Iterator[FakeEmbeddings]:
    server = FakeEmbeddings()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------------------------- the package stays light


def test_importing_the_vector_package_loads_neither_chromadb_nor_a_model():
    code = ("import sys, simulator.vectors, evals.exemplars; "
            "print(sorted(m for m in ('chromadb', 'onnxruntime', 'openai') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------------------------- local mode and knowledge


def test_local_store_lives_under_rapport_home_and_can_be_moved(library, tmp_path, monkeypatch):
    persona = library.get("procurement-skeptic")
    KnowledgeIndex().index(persona)
    assert (rapport_home() / "chroma" / "chroma.sqlite3").is_file()
    assert vector_client().get_settings().anonymized_telemetry is False
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"

    monkeypatch.setenv("RAPPORT_CHROMA_PATH", str(tmp_path / "elsewhere" / "vectors"))
    KnowledgeIndex().index(persona)
    assert (tmp_path / "elsewhere" / "vectors" / "chroma.sqlite3").is_file()


@pytest.mark.parametrize(
    ("persona_id", "question", "entry_id"),
    [
        ("procurement-skeptic", SITES_QUESTION, "sites"),
        ("procurement-skeptic", "Who else has to approve a new tool on your side?", "team"),
        ("diabetes-newly-diagnosed", "What did your blood sugar test come back at?", "results"),
        ("disengaged-student", "How did your mock exams go?", "grades"),
        ("grieving-friend", "What happened on the road that day?", "crash"),
        ("billing-error-subscriber", "How much have you been paying each month?", "bills"),
    ],
)
def test_knowledge_retrieval_puts_the_entry_a_question_is_about_first(library, persona_id, question, entry_id):
    persona = library.get(persona_id)
    retrieved = KnowledgeIndex().retrieve(persona, question)
    assert [e.id for e in retrieved][0] == entry_id
    assert len(retrieved) == min(3, len(persona.knowledge))


def test_knowledge_max_distance_leaves_small_talk_without_entries(library):
    from simulator.vectors.knowledge import RELEVANT

    persona, index = library.get("diabetes-newly-diagnosed"), KnowledgeIndex()
    assert index.retrieve(persona, "Lovely to meet you, thanks for coming in.", max_distance=RELEVANT) == []
    assert [e.id for e in index.retrieve(persona, "Tell me about your dad.", max_distance=RELEVANT)] == ["father"]
    assert len(index.retrieve(persona, "Tell me about your dad.")) == 3


def test_knowledge_is_scoped_to_its_persona(library):
    index = KnowledgeIndex()
    skeptic, student = library.get("procurement-skeptic"), library.get("disengaged-student")
    index.index(student)
    retrieved = index.retrieve(skeptic, "How did your mock exams go?", k=10)
    assert {e.id for e in retrieved} == {e.id for e in skeptic.knowledge}


def test_knowledge_reindexes_only_when_it_changes_and_drops_removed_entries(library):
    persona = library.get("procurement-skeptic")
    index = KnowledgeIndex()
    assert index.index(persona) is True
    assert index.index(persona) is False
    close_clients()
    assert KnowledgeIndex().index(persona) is False  # the hash is stored with the entries, not just in memory

    pilot = KnowledgeEntry(id="pilot", keywords=["pilot", "trial"], content="A six-week Venlo pilot costs 8,000 euros.")
    changed = persona.model_copy(update={"knowledge": [*persona.knowledge[:2], pilot]})
    assert index.index(changed) is True
    stored = set(index.collection.ids(where={"persona_id": persona.id}))
    assert stored == {f"{persona.id}/{e.id}" for e in changed.knowledge}
    assert index.retrieve(changed, "What would a trial cost us?")[0].id == "pilot"


def test_reopening_a_collection_raises_no_chromadb_warning(library):
    persona = library.get("procurement-skeptic")
    KnowledgeIndex().retrieve(persona, SITES_QUESTION)
    close_clients()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert KnowledgeIndex().retrieve(persona, SITES_QUESTION)[0].id == "sites"
    assert [str(w.message) for w in caught if "chromadb" in w.filename] == []


# ---------------------------------------------------------------------------------- memory


def memories(start: datetime) -> list[MemoryItem]:
    def item(n: int, learner: str, persona: str, session: str, kind: str, text: str) -> MemoryItem:
        return MemoryItem(id=f"m{n}", learner_id=learner, persona_id=persona, session_id=session, kind=kind, text=text,
                          created_at=start + timedelta(minutes=n))

    return [
        item(1, "ana", "procurement-skeptic", "s1", "fact", "Only the Venlo warehouse ever went live on Veritrack."),
        item(2, "ana", "procurement-skeptic", "s1", "commitment",
             "I promised to email Marieke the Venlo case study with a customer reference by Friday."),
        item(3, "ana", "procurement-skeptic", "s1", "open_question",
             "She asked whether our connector supports SAP S/4HANA; I still owe her an answer."),
        item(4, "ana", "procurement-skeptic", "s1", "disclosure",
             "Her director Pieter opposed Veritrack from the start and she feels she was blamed for it."),
        item(5, "ana", "procurement-skeptic", "s1", "fact", "Their peak season starts in October."),
        item(6, "ben", "procurement-skeptic", "s2", "commitment", "I promised to send the pricing by Monday."),
        item(7, "ana", "diabetes-newly-diagnosed", "s3", "commitment", "I said I would book his repeat blood test."),
    ]


def test_memory_brings_back_an_earlier_commitment_for_that_learner_and_persona_only():
    index = MemoryIndex()
    index.add(memories(datetime(2025, 3, 1, 9, 0, tzinfo=UTC)))
    found = index.retrieve("ana", "procurement-skeptic", "Did you get the case study I said I'd send you?")
    assert found[0].id == "m2" and found[0].kind == "commitment" and found[0].session_id == "s1"
    assert len(found) == 4

    everything = index.retrieve("ana", "procurement-skeptic", "case study", k=50)
    assert {m.id for m in everything} == {"m1", "m2", "m3", "m4", "m5"}
    assert [m.id for m in index.retrieve("ben", "procurement-skeptic", "case study", k=50)] == ["m6"]
    assert index.retrieve("carl", "procurement-skeptic", "case study") == []
    assert found[0] == memories(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))[1]  # every field survives the round trip


def test_memory_without_a_query_gives_the_most_recent():
    index = MemoryIndex()
    index.add(memories(datetime(2025, 3, 1, 9, 0, tzinfo=UTC)))
    assert [m.id for m in index.retrieve("ana", "procurement-skeptic", "  ", k=3)] == ["m5", "m4", "m3"]


def test_forget_and_rebuild():
    items = memories(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    index = MemoryIndex()
    index.add(items)
    assert index.forget(learner_id="ana", session_id="s1") == 5
    assert index.retrieve("ana", "procurement-skeptic", "case study") == []
    assert [m.id for m in index.retrieve("ben", "procurement-skeptic", "", k=10)] == ["m6"]
    assert index.forget(learner_id="ben") == 1

    index.rebuild(items[:2])
    assert set(index.collection.ids()) == {"m1", "m2"}
    assert index.forget() == 2


def test_memory_refills_from_its_source_when_the_index_is_lost():
    items = memories(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    index = MemoryIndex(source=lambda: items)
    assert index.collection.count() == len(items)  # a new index fills itself from the source of truth
    vector_client().delete_collection("rapport-memory")
    found = index.retrieve("ana", "procurement-skeptic", "what did I promise to send?")
    assert found[0].id == "m2"


def test_memory_item_validates():
    with pytest.raises(ValueError):
        MemoryItem(learner_id="ana", persona_id="p", session_id="s", kind="rumour", text="x")
    naive = MemoryItem(learner_id="ana", persona_id="p", session_id="s", kind="fact", text="x",
                       created_at=datetime(2025, 1, 1, 12, 0))
    assert naive.created_at.tzinfo is UTC


# ---------------------------------------------------------------------------------- damaged store


def test_a_store_damaged_while_open_is_moved_aside_and_rebuilt(library, caplog):
    persona = library.get("procurement-skeptic")
    index = KnowledgeIndex()
    assert index.retrieve(persona, SITES_QUESTION)[0].id == "sites"
    with open(rapport_home() / "chroma" / "chroma.sqlite3", "r+b") as db:
        db.write(b"this is not a database" * 2000)

    with caplog.at_level(logging.WARNING, logger="simulator.vectors"):
        assert index.retrieve(persona, SITES_QUESTION)[0].id == "sites"
        assert index.retrieve(persona, "who signs off?")[0].id == "team"
    assert len([r for r in caplog.records if "damaged" in r.getMessage()]) == 1
    aside = sorted(p.name for p in rapport_home().glob("chroma.corrupt-*"))
    assert len(aside) == 1 and (rapport_home() / aside[0] / "chroma.sqlite3").read_bytes().startswith(b"this is not")


def test_a_store_damaged_before_opening_is_moved_aside_and_rebuilt(library, caplog):
    persona = library.get("disengaged-student")
    KnowledgeIndex().index(persona)
    close_clients()  # as if a new process started
    (rapport_home() / "chroma" / "chroma.sqlite3").write_bytes(b"\x00garbage" * 5000)

    with caplog.at_level(logging.WARNING, logger="simulator.vectors"):
        assert KnowledgeIndex().retrieve(persona, "How did your mock exams go?")[0].id == "grades"
    assert len([r for r in caplog.records if "damaged" in r.getMessage()]) == 1
    assert len(list(rapport_home().glob("chroma.corrupt-*"))) == 1


def test_a_store_deleted_while_open_is_recreated(library):
    persona = library.get("procurement-skeptic")
    index = KnowledgeIndex()
    index.index(persona)
    shutil.rmtree(rapport_home() / "chroma")
    trimmed = persona.model_copy(update={"knowledge": persona.knowledge[1:]})
    assert index.index(trimmed) is True
    assert index.retrieve(trimmed, "Who else has to approve a new tool on your side?")[0].id == "team"
    assert (rapport_home() / "chroma" / "chroma.sqlite3").is_file()


def test_a_file_where_the_store_should_be_is_a_one_line_error(library, tmp_path, monkeypatch):
    (tmp_path / "not-a-dir").write_text("x")
    monkeypatch.setenv("RAPPORT_CHROMA_PATH", str(tmp_path / "not-a-dir"))
    with pytest.raises(VectorStoreError, match="RAPPORT_CHROMA_PATH") as error:
        KnowledgeIndex().index(library.get("procurement-skeptic"))
    assert "\n" not in str(error.value)


# ---------------------------------------------------------------------------------- client/server mode


def test_server_mode_stores_in_the_server_not_locally(chroma_server, monkeypatch, library):
    use_server(monkeypatch, chroma_server)
    persona = library.get("procurement-skeptic")
    assert KnowledgeIndex().retrieve(persona, SITES_QUESTION)[0].id == "sites"
    memory = MemoryIndex()
    memory.add(memories(datetime(2025, 3, 1, 9, 0, tzinfo=UTC)))
    assert memory.retrieve("ana", "procurement-skeptic", "what did I promise to send?")[0].id == "m2"

    close_clients()
    assert KnowledgeIndex().index(persona) is False  # already in the server
    assert (chroma_server.path / "chroma.sqlite3").is_file()
    assert not (rapport_home() / "chroma").exists()
    memory.forget(learner_id="ana")


def test_unreachable_server_is_a_one_line_error_naming_the_settings(monkeypatch, library):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("RAPPORT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RAPPORT_CHROMA_PORT", str(port))
    with pytest.raises(VectorStoreError) as error:
        KnowledgeIndex().retrieve(library.get("procurement-skeptic"), SITES_QUESTION)
    message = str(error.value)
    assert "\n" not in message
    assert f"http://127.0.0.1:{port}" in message
    assert "RAPPORT_CHROMA_HOST" in message and "RAPPORT_CHROMA_PORT" in message


def test_a_server_that_goes_away_is_a_one_line_error(tmp_path, monkeypatch, library):
    persona = library.get("procurement-skeptic")
    with running_chroma(tmp_path / "short-lived") as server:
        use_server(monkeypatch, server)
        index = KnowledgeIndex()
        assert index.retrieve(persona, SITES_QUESTION)[0].id == "sites"
        server.stop()
        with pytest.raises(VectorStoreError, match="RAPPORT_CHROMA_HOST") as error:
            index.retrieve(persona, SITES_QUESTION)
    assert "\n" not in str(error.value) and f":{server.port}" in str(error.value)


def test_bad_port_setting_is_a_one_line_error(monkeypatch, library):
    monkeypatch.setenv("RAPPORT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("RAPPORT_CHROMA_PORT", "eighty")
    with pytest.raises(VectorStoreError, match="RAPPORT_CHROMA_PORT"):
        KnowledgeIndex()


# ---------------------------------------------------------------------------------- choice of embedding


def test_embedding_settings():
    assert embedding_spec("").provider == "minilm"
    spec = embedding_spec("openai:text-embedding-3-small@http://127.0.0.1:9/v1")
    assert (spec.model, spec.base_url, spec.api_key_env) == ("text-embedding-3-small", "http://127.0.0.1:9/v1",
                                                             "OPENAI_API_KEY")
    assert spec.key == "openai:text-embedding-3-small@http://127.0.0.1:9/v1"
    with pytest.raises(ConfigError, match="RAPPORT_EMBEDDINGS"):
        embedding_spec("cohere:embed-v3")


def test_openai_embeddings_need_a_key_and_say_which_variable(monkeypatch):
    monkeypatch.setenv("RAPPORT_EMBEDDINGS", "openai:text-embedding-3-small")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        VectorCollection("rapport-test").count()
    monkeypatch.setenv("RAPPORT_EMBEDDINGS_API_KEY_ENV", "TEAM_EMBEDDINGS_KEY")
    with pytest.raises(ConfigError, match="TEAM_EMBEDDINGS_KEY"):
        VectorCollection("rapport-test").count()


def test_switching_embeddings_reindexes_instead_of_mixing_vector_spaces(library, fake_embeddings, monkeypatch):
    persona = library.get("procurement-skeptic")
    assert KnowledgeIndex().retrieve(persona, SITES_QUESTION)[0].id == "sites"  # MiniLM, 384-d

    monkeypatch.setenv("RAPPORT_EMBEDDINGS", f"openai:fake-embed@{fake_embeddings.base_url}")
    monkeypatch.setenv("OPENAI_API_KEY", fake_embeddings.accepted_key)
    index = KnowledgeIndex()
    assert index.retrieve(persona, SITES_QUESTION)[0].id == "sites"  # 64-d: would fail if the spaces were mixed
    assert {e.content for e in persona.knowledge} <= {t.split(": ", 1)[1] for t in fake_embeddings.inputs[:-1]}
    assert fake_embeddings.inputs[-1] == SITES_QUESTION
    stored = vector_client().get_collection("rapport-knowledge", embedding_function=None)
    assert stored.metadata["rapport_embedding"] == f"openai:fake-embed@{fake_embeddings.base_url}"
    assert fake_embeddings.accepted_key not in json.dumps(stored.configuration_json)  # the variable name, not the key
    assert "OPENAI_API_KEY" in json.dumps(stored.configuration_json)

    asked = len(fake_embeddings.inputs)
    monkeypatch.setenv("RAPPORT_EMBEDDINGS", f"openai:other-embed@{fake_embeddings.base_url}")  # same API, new model
    assert KnowledgeIndex().retrieve(persona, SITES_QUESTION)[0].id == "sites"
    assert len(fake_embeddings.inputs) == asked + len(persona.knowledge) + 1  # re-indexed, then asked

    monkeypatch.delenv("RAPPORT_EMBEDDINGS")
    assert KnowledgeIndex().retrieve(persona, "who signs off on a new tool?")[0].id == "team"
    assert vector_client().get_collection("rapport-knowledge", embedding_function=None).metadata[
        "rapport_embedding"].startswith("minilm:")


def test_a_rejected_embeddings_request_is_a_one_line_model_error(library, fake_embeddings, monkeypatch):
    monkeypatch.setenv("RAPPORT_EMBEDDINGS", f"openai:fake-embed@{fake_embeddings.base_url}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with pytest.raises(ModelError, match="fake-embed") as error:
        KnowledgeIndex().retrieve(library.get("procurement-skeptic"), SITES_QUESTION)
    assert "\n" not in str(error.value) and "Incorrect API key" in str(error.value)


# ---------------------------------------------------------------------------------- retrieval quality


def test_recall_at_3_on_the_labelled_set():
    assert len(ENTRIES) >= 12 and len(QUERIES) >= 24
    assert {label for _, label in QUERIES} == {e.id for e in ENTRIES}
    result = measure_recall(k=3)
    print(f"\nlabelled set ({len(QUERIES)} questions, {len(ENTRIES)} entries): recall@1 {result.recall_at_1:.3f}, "
          f"recall@3 {result.recall_at_k:.3f}, MRR {result.mrr:.3f}; misses: {result.misses}")
    # Measured with the int8 MiniLM embedder: recall@3 0.950, recall@1 0.775 (deterministic on this model).
    assert result.recall_at_k >= 0.9
    assert result.recall_at_1 >= 0.7


# ---------------------------------------------------------------------------------- judge exemplars


def test_exemplars_cover_every_criterion_high_and_low_across_domains():
    from evals.exemplars import load_exemplars
    from evals.rubric import CORE_CRITERIA

    exemplars = load_exemplars()
    assert 36 <= len(exemplars) <= 60
    levels = [(a.criterion, a.level) for e in exemplars for a in e.annotations]
    for criterion in CORE_CRITERIA:
        assert any(c == criterion and level <= 2 for c, level in levels), f"no low exemplar for {criterion}"
        assert any(c == criterion and level >= 4 for c, level in levels), f"no high exemplar for {criterion}"
    assert {e.domain.value for e in exemplars} >= {
        "sales", "healthcare", "education", "counseling", "leadership", "customer_service"}


@pytest.mark.parametrize(
    ("turn", "expected"),
    [
        ("Try not to worry about that. Your results really aren't too bad. Now, let's talk about food.",
         "health-dismisses-fear"),
        ("Thank you for calling. Apologies for any inconvenience. How can I help you today?", "service-script"),
        ("Last time you said you'd phone your sister at the weekend. How did that go?", "counsel-follows-up-last-week"),
        ("This price is only valid until the end of the week, so signing now really is your best option.",
         "sales-false-urgency"),
    ],
)
def test_exemplar_retrieval_finds_similar_annotated_turns(turn, expected):
    from evals.exemplars import ExemplarIndex

    found = ExemplarIndex().retrieve(["Hello, thanks for making the time.", turn], k=4)
    assert expected in [e.id for e in found[:2]]
    assert len(found) == 4 and len({e.id for e in found}) == 4


def test_exemplars_text_is_a_compact_reference_block():
    from evals.exemplars import ExemplarIndex, exemplars_text

    found = ExemplarIndex().retrieve(["Great job, amazing, you're so smart!"], k=3)
    text = exemplars_text(found)
    assert text.count("Learner: ") == 3
    for exemplar in found:
        assert exemplar.learner in text
        assert all(f"{a.criterion} {a.level}: {a.reason}" in text for a in exemplar.annotations)
    assert "never quote them as evidence" in text
    assert exemplars_text([]) == ""


def test_exemplar_file_problems_are_located(tmp_path):
    from evals.exemplars import load_exemplars

    path = tmp_path / "exemplars.yaml"
    path.write_text(
        "schema_version: 1\nexemplars:\n  - id: bad-one\n    domain: sales\n    context: Hi.\n    learner: Hello.\n"
        "    mood: cheerful\n    annotations:\n      - {criterion: charm, level: 6, reason: x}\n"
    )
    with pytest.raises(DataFileError) as error:
        load_exemplars(path)
    message = str(error.value)
    assert "exemplars.yaml:7: exemplars[0].mood: unknown field" in message
    assert "criterion" in message and "level" in message
