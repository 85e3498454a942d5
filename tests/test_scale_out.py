"""Scale-out: two app processes share PostgreSQL and a Chroma server, so a learner whose requests land on the other
process carries on where they were. Real subprocesses (`rapport ui`, fake persona model) driven by the gradio
client, a real `chroma run`, and a fresh schema on the local PostgreSQL (skipped, saying why, without one)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from bench.app_load import run_load, serve_apps, stop_apps
from bench.cluster import ChromaServer, Unavailable, fresh_schema
from rapport.ui import auth
from rapport.ui.auth import Role, write_user
from simulator.paths import bundled_personas_dir
from simulator.store import SessionStore
from simulator.store.database import dispose_all

from .chroma_support import chroma_server  # noqa: F401 - a fixture

PERSONA = "procurement-skeptic"
ANA, BEN = ("ana", "ana-pw"), ("ben", "ben-pw")


@dataclass
class Cluster:
    a: str  # the two app processes' addresses
    b: str
    database_url: str
    chroma: ChromaServer


@pytest.fixture(scope="module")
def cluster(chroma_server, tmp_path_factory) -> Iterator[Cluster]:  # noqa: F811 - the fixture imported above
    home = tmp_path_factory.mktemp("cluster-home")  # one RAPPORT_HOME on shared disk, as docs/deploy.md says
    users = home / "users.toml"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "ITERATIONS", 1000)  # the hash keeps its own cost: logins stay quick in the apps
        for name, password in (ANA, BEN):
            write_user(users, name, password, Role.LEARNER)
    with ExitStack() as stack:  # undone in reverse: the apps stop, connections close, then the schema goes
        try:
            database_url = stack.enter_context(fresh_schema())
        except Unavailable as exc:
            pytest.skip(str(exc))
        stack.callback(dispose_all)
        env = {"RAPPORT_DATABASE_URL": database_url, "RAPPORT_AUTH": str(users), **chroma_server.env}
        apps = serve_apps([home, home], env)
        stack.callback(stop_apps, apps)
        yield Cluster(apps[0][1], apps[1][1], database_url, chroma_server)


def client(url: str, user: tuple[str, str]):
    from gradio_client import Client

    return Client(url, auth=user, verbose=False)


def chat_texts(history: list[dict], role: str) -> list[str]:
    texts = []
    for message in history:
        if message["role"] == role:
            content = message["content"]
            texts.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
    return texts


def unchanged(value) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update" and not value.get("value")


def test_a_session_continues_on_the_other_process_and_its_memories_come_back_on_the_first(cluster):
    lines = ["What matters most to you in picking a supplier this year?",
             "So the last rollout cost you a quarter of rework. What would make this one different?",
             "I'll send you the site references by Friday, and we can talk about a pilot then."]
    through_a = client(cluster.a, ANA)
    started = through_a.predict(PERSONA, "medium", api_name="/start")
    kept = started[-1]  # what the browser keeps in localStorage
    session_id = kept["session"]
    for line in lines[:2]:
        through_a.predict(line, api_name="/send")

    # Process A went away, say: the reloaded page lands on B, which reopens the kept session from the store.
    through_b = client(cluster.b, ANA)
    reopened = through_b.predict(kept, api_name="/reopen")
    assert chat_texts(reopened[1], "user") == lines[:2] and reopened[-1] == kept
    through_b.predict(lines[2], api_name="/send")
    through_b.predict(api_name="/end")

    store = SessionStore(cluster.database_url)
    record = store.load_record(session_id, learner_id="ana")
    assert record.ended
    learner_turns = [t.text for t in record.turns if t.speaker.value == "learner"]
    assert learner_turns == lines  # each once, in order, though two processes wrote them
    assert [t.speaker.value for t in record.turns] == ["persona"] + ["learner", "persona"] * 3
    assert [s.id for s in store.list(learner_id="ana")] == [session_id]

    # The memories B stored are in PostgreSQL and in the Chroma server, and A's next session with them recalls them.
    import chromadb

    server = chromadb.HttpClient(host=cluster.chroma.host, port=cluster.chroma.port)
    indexed = server.get_collection("rapport-memory").get(where={"session_id": session_id})
    assert any("site references" in text for text in indexed["documents"])
    again = client(cluster.a, ANA).predict(PERSONA, "medium", api_name="/start")
    assert f"remembers {len(indexed['ids'])} thing(s) from your earlier sessions" in again[0]

    # The kept id is no key: another learner's browser holding it reopens nothing, and forgets it.
    foreign = client(cluster.b, BEN).predict(kept, api_name="/reopen")
    assert foreign[-1] == {"session": None} and all(unchanged(value) for value in foreign[:-1])
    # An ended session is not reopened either: the browser forgets it.
    assert client(cluster.a, ANA).predict(kept, api_name="/reopen")[-1] == {"session": None}


def test_a_persona_saved_through_one_process_can_be_practised_through_the_other(cluster):
    text = (bundled_personas_dir() / "disengaged-student.yaml").read_text(encoding="utf-8")
    mine = text.replace("id: disengaged-student", "id: kayla-ana").replace("name: Kayla Brennan", "name: Kayla Bee")
    client(cluster.b, ANA).predict(PERSONA, "medium", api_name="/start")  # B now holds ana's personas in memory
    message, _ = client(cluster.a, ANA).predict(mine, False, api_name="/save_text")
    assert "only you see it" in message
    assert "Kayla Bee" in str(client(cluster.b, ANA).predict("kayla-ana", "medium", api_name="/start"))
    with pytest.raises(Exception, match="no persona with id 'kayla-ana'"):  # still ana's alone
        client(cluster.b, BEN).predict("kayla-ana", "medium", api_name="/start")


def test_ten_learners_over_two_processes_lose_nothing_and_never_cross(cluster):
    load = run_load([cluster.a, cluster.b], learners=10, turns=3, auth=BEN)
    assert load.cross_talk == [] and load.lost == []
    stored = SessionStore(cluster.database_url).list(learner_id="ben")
    assert len(stored) == 10 and all(s.turns == 7 for s in stored)  # the opening line and 3 exchanges each
