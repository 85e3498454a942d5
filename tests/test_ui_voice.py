"""Voice practice in a real browser: Debian's chromium with a fake microphone fed from a WAV file, the offline
listener (Whisper base) and the offline voice (Piper joe on onnxruntime)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from simulator.config import ModelSpec
from simulator.models import ScriptedChatModel

from .browser_support import chromium_with, fake_microphone, screenshot, served

MICROPHONE_WAV = Path(__file__).resolve().parent / "data" / "voice" / "fake-microphone-48k.wav"
HEARD = "this matter"  # "Hello, I can hear this matters to you." as Whisper base hears espeak-ng say it
REPLY = "*folds his arms* I waited nine days for a reply. Nine days! Nobody called me, not once."
RECORD_SECONDS = 4.8  # the file is 1 s of silence, the sentence, then 1.5 s of silence


@pytest.fixture(scope="module")
def voice_app(library, tmp_path_factory):
    from rapport.ui import PersonaModel, build_app

    home = tmp_path_factory.mktemp("voice-home")
    os.environ["RAPPORT_HOME"] = str(home)
    persona_model = PersonaModel(ModelSpec(provider="fake"))
    persona_model.model = ScriptedChatModel(respond=lambda messages: REPLY, delay=0.02)
    with served(build_app(library, persona_model)) as url:
        yield url, home


def open_voice(page, url: str) -> str:
    page.goto(url)
    page.click("#start-upset-parent")
    page.wait_for_selector("#message textarea")
    page.click("#voice-mode input")
    page.wait_for_function("document.querySelector('#voice-status').innerText.trim().length > 0", timeout=20_000)
    return page.inner_text("#voice-status")


def speak(page) -> None:
    page.click("#voice-mic button.record-button")
    time.sleep(RECORD_SECONDS)
    page.click("#voice-mic button.stop-button")


def heard_times(page, times: int) -> None:
    page.wait_for_function("([t, n]) => (document.querySelector('#chat').innerText.toLowerCase()"
                           ".split(t).length - 1) >= n", arg=[HEARD, times], timeout=60_000)


def test_speak_a_turn_hear_the_reply_aloud_and_get_a_delivery_section(voice_app):
    url, home = voice_app
    with chromium_with(*fake_microphone(MICROPHONE_WAV)) as page:
        assert "Microphone ready" in open_voice(page, url)
        assert not page.is_checked("#voice-keep input")  # recordings are not kept unless the learner asks
        speak(page)
        page.wait_for_function("([t]) => document.querySelector('#chat').innerText.toLowerCase().includes(t)",
                               arg=[HEARD], timeout=60_000)
        page.wait_for_function("document.querySelector('#chat').innerText.includes('not once')", timeout=60_000)
        # Spoken, not only shown: each of the reply's three sentences, in the persona's voice, none lost.
        page.wait_for_function("window.rapportVoice.state.finished === 3", timeout=60_000)
        assert page.evaluate("window.rapportVoice.state.received") == 3
        screenshot(page, "10-voice-practice")

        page.click("#voice-keep input")  # from the second turn on, recordings are kept
        speak(page)
        heard_times(page, 2)
        page.wait_for_function("!document.querySelector('#status').innerText.includes('replying')", timeout=60_000)
        page.wait_for_function("window.rapportVoice.state.finished === 6", timeout=60_000)
        page.fill("#message textarea", "What would help most right now?")  # typing works in the same session
        page.keyboard.press("Enter")
        page.wait_for_function("window.rapportVoice.state.played > 6", timeout=60_000)  # answered aloud...
        speak(page)  # ... and the learner talks over it
        heard_times(page, 3)
        page.wait_for_function("!document.querySelector('#status').innerText.includes('replying')", timeout=60_000)

        page.click("#end")
        page.wait_for_selector("#sc-delivery", timeout=90_000)
        delivery = page.inner_text("#sc-delivery")
        assert "3 spoken turn(s)" in delivery and "words/min" in delivery and "Pause before answering" in delivery
        assert "Started before they finished\t1" in delivery
        screenshot(page, "11-voice-delivery")
        assert page.evaluate("window.rapportVoice.state.errors") == []

        page.click("#tab-history-button")  # the stored session shows the same delivery section
        page.wait_for_function("document.querySelector('#history-table').innerText.includes('Farid')")
        page.click("#history-picker input")
        page.locator("[role=option]").first.click()
        page.click("#history-open")
        page.wait_for_function("(document.querySelector('#history-opened #sc-delivery')?.innerText || '')"
                               ".includes('3 spoken turn(s)')", timeout=30_000)
        assert page.remote_requests == []

    from simulator.store import SessionStore

    store = SessionStore(f"sqlite:///{home / 'rapport.db'}")
    summary = store.list(learner_id="local")[0]
    record = store.load_record(summary.id, learner_id="local")
    spoken = [i for i, t in enumerate(record.turns) if t.delivery is not None]
    assert len(spoken) == 3 and HEARD in record.turns[spoken[0]].text.lower()
    first, second, third = (record.turns[i].delivery for i in spoken)
    assert first.words_per_minute and first.pause_before is not None and first.pitch_hz
    assert not first.interrupted and not second.interrupted and third.interrupted and third.pause_before is None
    assert not first.audio_kept and store.audio(summary.id, spoken[0], learner_id="local") is None
    assert second.audio_kept and store.audio(summary.id, spoken[1], learner_id="local")[:4] == b"RIFF"


@pytest.mark.parametrize(("flags", "message"), [
    ((), "No microphone was found"),
    (("--use-fake-device-for-media-stream",), "Microphone permission was refused"),  # headless denies the prompt
])
def test_a_missing_or_refused_microphone_is_said_plainly_and_typing_still_works(voice_app, flags, message):
    url, _home = voice_app
    with chromium_with(*flags) as page:
        assert message in open_voice(page, url)
        page.fill("#message textarea", "Thank you for coming in.")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('not once')", timeout=60_000)
