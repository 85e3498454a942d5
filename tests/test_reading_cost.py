"""The reader spends its CPU once per text and in batches: each text is embedded once (a persona's reply as soon as
it is produced), concurrent sessions' turns are coded together, and none of it changes what a turn reads as."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter

import numpy as np
import pytest

from simulator.coder.coder import BehaviourCoder
from simulator.embeddings import SentenceEmbedder
from simulator.models import ScriptedChatModel
from simulator.read_queue import read_queue
from simulator.session import Session
from simulator.signals import Conversation, TurnReader


@pytest.fixture(scope="module")
def embedder():
    """A private embedder whose runs are counted (the process-wide one's memo would hide them)."""
    embedder = SentenceEmbedder()
    embedder.runs = Counter()
    embed_one = embedder._embed_one

    def counted(text):
        embedder.runs[text] += 1
        return embed_one(text)

    embedder._embed_one = counted
    return embedder


def test_a_text_is_embedded_once_however_often_and_by_however_many_threads_it_is_asked_for(embedder):
    text = "You said the Venlo rollout went badly in week two; what happened first?"
    fresh = SentenceEmbedder().embed([text])[0]
    threads = [threading.Thread(target=embedder.embed, args=([text, "and another line"],)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = embedder.embed([text])[0]
    assert embedder.runs[text] == 1 and embedder.runs["and another line"] == 1
    np.testing.assert_array_equal(again, fresh)  # the memo gives exactly what embedding it afresh gives
    again[0] = 1.0  # a caller's array is its own: changing it changes nothing remembered
    np.testing.assert_array_equal(embedder.embed([text])[0], fresh)


def test_a_persona_reply_is_embedded_when_produced_and_the_next_turn_embeds_only_the_learners_words(embedder, library):
    coder = BehaviourCoder(embedder)
    reply = "Fair enough. *makes a note* We need all three Venlo sites live within a year, no excuses."
    session = Session(library.get("procurement-skeptic"), ScriptedChatModel(replies=[reply, "Go on."]),
                      reader=TurnReader(coder=coder))

    async def two_turns():
        async for _ in session.send("What went wrong with Veritrack, from where you sat?"):
            pass
        deadline = time.monotonic() + 10
        while embedder.runs[reply] == 0 and time.monotonic() < deadline:  # embedded in the background
            await asyncio.sleep(0.01)
        assert embedder.runs[reply] == 1, "the reply was not embedded when it was produced"
        async for _ in session.send("All three within a year: which site worries you most?"):
            pass

    asyncio.run(two_turns())
    assert embedder.runs[reply] == 1 and embedder.runs["All three within a year: which site worries you most?"] == 1
    assert session.dynamics.trajectory[-1].reading.codes is not None


def _all_at_once(persona, coder, lines):
    """One session per line, each sending its line at the same moment; (sessions, each send's exception or None,
    the sizes of the read batches sent)."""

    async def run():
        sessions = [Session(persona, ScriptedChatModel(replies=["Go on."]), reader=TurnReader(coder=coder))
                    for _ in lines]

        async def one(session, line):
            async for _ in session.send(line):
                pass

        results = await asyncio.gather(*(one(s, line) for s, line in zip(sessions, lines)), return_exceptions=True)
        return sessions, results, list(read_queue().batches)

    return asyncio.run(run())


def test_concurrent_sessions_turns_are_read_together_and_read_exactly_as_alone(library):
    from simulator.coder import load_coder

    real = load_coder()
    batches: list[int] = []

    class SlowCoder:  # the real coder (shared, as every session shares it), slow enough that turns must queue
        def code(self, context, response):
            return real.code(context, response)

        def code_each(self, pairs):
            batches.append(len(pairs))
            time.sleep(0.05)
            return real.code_each(pairs)

    coder = SlowCoder()
    persona = library.get("procurement-skeptic")
    lines = [f"It sounds like site {n} carried the worst of it. What would make the next rollout feel safer?"
             for n in range(12)]

    sessions, results, sent = _all_at_once(persona, coder, lines)
    assert results == [None] * len(lines)
    assert sum(batches) == len(lines) and max(batches) > 1 and sent == batches
    assert batches[0] == 1  # the first turn found a worker free and waited for no company
    alone = TurnReader(coder=real)
    for session in sessions:
        turns = session.turns
        conversation = Conversation(persona=persona, verbosity=session.dynamics.preset.verbosity,
                                    persona_turns=[turns[0].text])
        assert session.dynamics.trajectory[0].reading == alone.read(turns[1].text, conversation)


def test_one_bad_turn_in_a_batch_fails_only_its_own_session(library):
    from simulator.coder import load_coder

    real = load_coder()

    class PickyCoder:  # fails on one turn, as a rule might trip on strange input
        def code(self, context, response):
            if "site 5" in response:
                raise ValueError("unreadable turn")
            time.sleep(0.02)
            return real.code(context, response)

        def code_each(self, pairs):
            return [self.code(*pair) for pair in pairs]

    coder = PickyCoder()
    persona = library.get("procurement-skeptic")
    lines = [f"What happened at site {n}?" for n in range(8)]

    sessions, results, sent = _all_at_once(persona, coder, lines)
    assert max(sent) > 1  # the bad turn shared a batch
    assert [type(r).__name__ for r in results] == ["NoneType"] * 5 + ["ValueError"] + ["NoneType"] * 2
    assert all(s.dynamics.trajectory for i, s in enumerate(sessions) if i != 5)
    assert sessions[5].awaiting_reply and not sessions[5].dynamics.trajectory  # its message is kept, unread


def test_a_failing_reader_fails_only_its_own_sessions_turn(library):
    class BrokenCoder:
        def code(self, context, response):
            raise RuntimeError("coder weights unreadable")

    persona = library.get("procurement-skeptic")

    async def both():
        broken = Session(persona, ScriptedChatModel(replies=["Go on."]), reader=TurnReader(coder=BrokenCoder()))
        fine = Session(persona, ScriptedChatModel(replies=["Go on."]))

        async def drain(session, line):
            async for _ in session.send(line):
                pass

        return await asyncio.gather(drain(broken, "Hello there"), drain(fine, "What matters most to you?"),
                                     return_exceptions=True), fine

    (broken_result, fine_result), fine = asyncio.run(both())
    assert isinstance(broken_result, RuntimeError) and "coder weights unreadable" in str(broken_result)
    assert fine_result is None and fine.dynamics.trajectory


def test_background_embedding_and_concurrent_readers_never_wait_on_each_other():
    """Replies embedded in the background share a pool with the readers' own embedding: neither may wait for
    work queued behind itself (this deadlocked a 64-session suite once)."""
    embedder = SentenceEmbedder(threads=2)
    texts = [f"Reply {n}: we need the Venlo depot live before the peak season, or the CFO will not sign." for n in range(40)]
    done = []

    def reader(offset):
        for n in range(0, len(texts) - 1, 2):
            embedder.embed([texts[(n + offset) % len(texts)], texts[(n + offset + 1) % len(texts)]])
        done.append(offset)

    threads = [threading.Thread(target=reader, args=(offset,), daemon=True) for offset in (0, 1, 7)]
    for thread in threads:
        thread.start()
    for text in texts:
        embedder.prepare(text)
    for thread in threads:
        thread.join(60)
    assert sorted(done) == [0, 1, 7], "embedding deadlocked"
