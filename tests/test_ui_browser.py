"""The browser app in a real browser (Debian's chromium via Playwright) against the fake model."""

from __future__ import annotations

import time

import pytest

from simulator.config import ModelSpec
from simulator.models import ScriptedChatModel

from .browser_support import browser_page, screenshot, served


@pytest.fixture(scope="module")
def app_url(library):
    from rapport.ui import PersonaModel, build_app

    persona_model = PersonaModel(ModelSpec(provider="fake"))
    persona_model.model = ScriptedChatModel(
        respond=lambda messages: "*leans back* Veritrack promised six months. It took eighteen, and two of our sites "
        "never went live. So forgive me if I want proof this time.",
        delay=0.04,
    )
    with served(build_app(library, persona_model)) as url:
        yield url


def last_bubble_text(page) -> str:
    bubbles = page.locator("#chat .message-row, #chat [data-testid='bot'], #chat .message")
    return bubbles.last.inner_text() if bubbles.count() else ""


def test_pick_a_persona_and_get_streamed_in_character_replies(app_url):
    with browser_page() as page:
        page.goto(app_url)
        page.wait_for_selector("#start-procurement-skeptic")
        assert "Dana Whitfield" in page.inner_text("#picker")
        assert "Your goal:" in page.inner_text("#picker")
        screenshot(page, "01-persona-cards")

        page.click("#start-procurement-skeptic")
        page.wait_for_selector("#message textarea")
        assert "Brief:" in page.inner_text("#brief")
        page.fill("#message textarea", "What went wrong with your last vendor?")
        page.keyboard.press("Enter")

        seen: list[str] = []
        deadline = time.time() + 20
        while time.time() < deadline:
            text = last_bubble_text(page)
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if "want proof this time." in text:
                break
            time.sleep(0.03)
        assert "want proof this time." in seen[-1]
        assert len([s for s in seen if "Veritrack" in s or "leans back" in s]) >= 3, "the reply should arrive in pieces"
        screenshot(page, "02-conversation")
        page.click("#end")
        page.wait_for_function("document.querySelector('#review').innerText.includes('How the relationship moved')")
        review = page.inner_text("#review")
        assert "Turn 1" in review and "trust" in review
        page.wait_for_function("document.querySelector('#scorecard').innerText.includes('Overall')", timeout=60_000)
        scorecard = page.inner_text("#scorecard")
        assert "Scorecard (offline coder)" in scorecard and "Empathy" in scorecard and "Active listening" in scorecard
        screenshot(page, "02b-scorecard")
        assert page.remote_requests == []  # nothing leaves the machine


def test_markup_in_a_learner_message_is_shown_as_text(app_url):
    with browser_page() as page:
        page.goto(app_url)
        page.click("#start-disengaged-student")
        page.wait_for_selector("#message textarea")
        page.evaluate("window.__pwned = false")
        page.fill("#message textarea", "<img src=x onerror=\"window.__pwned=true\"><b>bold?</b>")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('<b>bold?</b>')")
        assert page.evaluate("window.__pwned") is False
        assert page.locator("#chat b:has-text('bold?')").count() == 0


def _replace_editor_text(page, text: str) -> None:
    page.click("#studio-editor .cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_persona_studio_validates_live_tries_and_saves(app_url, library, tmp_path):
    import os
    from pathlib import Path

    original = library.source("disengaged-student").path.read_text(encoding="utf-8")
    with browser_page() as page:
        page.goto(app_url)
        page.click("#tab-studio-button")
        page.wait_for_selector("#studio-source")
        page.click("#studio-source input")
        page.click("[role=option]:has-text('disengaged-student')")
        page.click("#studio-load")
        page.wait_for_function("document.querySelector('#studio-validation').innerText.includes('Valid')")
        assert "Kayla" in page.inner_text("#studio-card")

        broken = original.replace("domain: education", "domain: schooling")
        _replace_editor_text(page, broken)
        page.wait_for_function("document.querySelector('#studio-validation').innerText.includes('error')")
        line = next(i for i, l in enumerate(broken.splitlines(), 1) if l.startswith("domain:"))
        assert f"line {line}: domain:" in page.inner_text("#studio-validation")
        screenshot(page, "03-studio-error")

        mine = original.replace("id: disengaged-student", "id: kayla-my-version").replace(
            "name: Kayla Brennan", "name: Kayla B."
        )
        _replace_editor_text(page, mine)
        page.wait_for_function("document.querySelector('#studio-validation').innerText.includes('Valid')")
        page.click("#studio-try")
        page.wait_for_selector("#studio-message textarea")
        page.fill("#studio-message textarea", "Hi Kayla, how are things?")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#studio-chat').innerText.includes('want proof this time')")

        page.click("#studio-save")
        page.wait_for_function("document.querySelector('#studio-saved').innerText.includes('Saved')")
        saved = Path(os.environ["RAPPORT_HOME"]) / "personas" / "kayla-my-version.yaml"
        assert saved.read_text(encoding="utf-8") == mine
        screenshot(page, "04-studio-saved")

        page.click("#studio-save")  # a second save must not overwrite silently
        page.wait_for_function("document.querySelector('#studio-saved').innerText.includes('Not saved')")


def test_studio_imports_and_exports_character_cards(app_url, tmp_path):
    import json

    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Mira Voss", "description": "A lighthouse keeper who has not spoken to her sister in ten years.",
        "personality": "wry, lonely", "scenario": "A storm.", "first_mes": "You're soaked. Come in.",
        "mes_example": "", "creator_notes": "", "system_prompt": "", "post_history_instructions": "",
        "alternate_greetings": [], "tags": [], "creator": "", "character_version": "", "extensions": {}}}
    path = tmp_path / "mira.json"
    path.write_text(json.dumps(card))
    with browser_page() as page:
        page.goto(app_url)
        page.click("#tab-studio-button")
        page.click("text=Character Cards (V2/V3)")
        page.set_input_files("#studio-card-upload input[type=file]", str(path))
        page.wait_for_function("document.querySelector('#studio-import-notes').innerText.includes('Imported')")
        page.wait_for_function("document.querySelector('#studio-validation').innerText.includes('Valid')")
        assert "Mira Voss" in page.inner_text("#studio-card")
        with page.expect_download() as download:
            page.click("#studio-export")
            page.wait_for_selector("#studio-exported a", timeout=15_000)
            page.click("#studio-exported a")
        exported = json.loads(download.value.path().read_text())
        assert exported["spec"] == "chara_card_v3" and exported["data"]["name"] == "Mira Voss"
