"""The browser app in a real browser (Debian's chromium via Playwright) against the fake model."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from simulator.config import ModelSpec
from simulator.models import ScriptedChatModel

from .browser_support import browser_page, screenshot, served

REPLY = ("*leans back* Veritrack promised six months. It took eighteen, and two of our sites never went live. "
         "So forgive me if I want proof this time.")


def fake_persona_model(**kwargs):
    from rapport.ui import PersonaModel

    persona_model = PersonaModel(ModelSpec(provider="fake"))
    persona_model.model = ScriptedChatModel(**({"respond": lambda messages: REPLY, "delay": 0.03} | kwargs))
    return persona_model


@pytest.fixture(scope="module")
def app_url(library, tmp_path_factory):
    from rapport.ui import build_app

    os.environ["RAPPORT_HOME"] = str(tmp_path_factory.mktemp("app-home"))  # the app's store lives here
    with served(build_app(library, fake_persona_model())) as url:
        yield url


def wait_text(page, selector: str, text: str, timeout: float = 30_000) -> None:
    page.wait_for_function("([s, t]) => (document.querySelector(s)?.innerText || '').includes(t)",
                           arg=[selector, text], timeout=timeout)


def send(page, text: str, prefix: str = "") -> None:
    page.fill(f"#{prefix}message textarea", text)
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelector('#{prefix}status').innerText.includes('replying')")
    page.wait_for_function(f"!document.querySelector('#{prefix}status').innerText.includes('replying')", timeout=60_000)


def test_practise_see_the_meter_end_and_get_a_scorecard_then_history(app_url):
    with browser_page() as page:
        page.goto(app_url)
        page.wait_for_selector("#start-procurement-skeptic")
        assert "Your goal:" in page.inner_text("#picker")
        screenshot(page, "01-persona-cards")
        page.click("#field-filter input")
        page.click("[role=option]:has-text('Healthcare')")
        page.wait_for_selector("#start-procurement-skeptic", state="detached")
        assert page.locator("#start-diabetes-newly-diagnosed").count() == 1
        page.click("#field-filter input")
        page.click("[role=option]:has-text('Sales')")
        page.click("#start-procurement-skeptic")
        page.wait_for_selector("#message textarea")
        assert "Brief:" in page.inner_text("#brief") and "Your goal:" in page.inner_text("#brief")

        page.fill("#message textarea", "What went wrong with your last vendor?")
        page.keyboard.press("Enter")
        seen: list[str] = []
        deadline = time.time() + 20
        while time.time() < deadline:
            bubbles = page.locator("#chat .message")
            text = bubbles.last.inner_text() if bubbles.count() else ""
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if "want proof this time." in text:
                break
            time.sleep(0.03)
        assert len([s for s in seen if "Veritrack" in s or "leans back" in s]) >= 3, "the reply should stream in"
        page.wait_for_function("!document.querySelector('#status').innerText.includes('replying')")
        trust_after_one = float(page.get_attribute("#meter-values", "data-trust"))
        assert "open question" in page.inner_text("#hints")
        send(page, "That sounds exhausting, especially since you championed it. What would you need this time?")
        send(page, "It makes sense you'd want proof. What matters most to your operations team?")
        assert float(page.get_attribute("#meter-values", "data-trust")) > trust_after_one  # the meter moved
        screenshot(page, "02-conversation-with-meter")

        page.check("#exam-mode input")
        page.wait_for_selector("#meter-values", state="detached")
        assert page.locator("#hints").is_hidden()
        page.uncheck("#exam-mode input")
        page.wait_for_selector("#meter-values")

        page.click("#end")
        wait_text(page, "#scorecard", "Overall", 60_000)
        scorecard = page.inner_text("#scorecard")
        assert "Empathy" in scorecard and "Active listening" in scorecard and "Try instead" in scorecard
        assert page.locator("#scorecard svg.radar").count() == 1 or page.locator("#scorecard svg").count() >= 2
        assert page.locator("#scorecard svg").count() >= 2  # the radar and the trajectory
        link = page.locator("#scorecard a.evidence").first
        target = link.get_attribute("href")
        link.click()
        assert page.evaluate("location.hash") == target
        assert page.locator(target).count() == 1
        assert page.locator("#downloads a").count() >= 3
        screenshot(page, "03-scorecard")

        page.click("#tab-history-button")
        wait_text(page, "#history-table", "Dana Whitfield")
        wait_text(page, "#history-suggestion", "Practise next")
        page.click("#history-picker input")
        page.locator("[role=option]").first.click()
        page.click("#history-open")
        wait_text(page, "#history-opened", "Overall")
        screenshot(page, "04-history")
        assert page.remote_requests == []  # nothing leaves the machine


def test_markup_in_a_learner_message_is_shown_as_text(app_url):
    with browser_page() as page:
        page.goto(app_url)
        page.click("#start-disengaged-student")
        page.wait_for_selector("#message textarea")
        page.evaluate("window.__pwned = false")
        page.fill("#message textarea", "<img src=x onerror=\"window.__pwned=true\"><b>bold?</b><script>window.__pwned=true</script>")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('<b>bold?</b>')")
        assert page.evaluate("window.__pwned") is False
        assert page.locator("#chat b:has-text('bold?')").count() == 0


def test_a_failed_reply_shows_in_the_chat_and_retry_loses_nothing(library, tmp_path):
    from rapport.ui import build_app

    model = fake_persona_model(fail_with=[RuntimeError("connection reset by the model server")])
    with served(build_app(library, model)) as url, browser_page() as page:
        page.goto(url)
        page.click("#start-procurement-skeptic")
        page.wait_for_selector("#message textarea")
        page.fill("#message textarea", "What went wrong with Veritrack?")
        page.keyboard.press("Enter")
        wait_text(page, "#chat", "The reply failed")
        assert "What went wrong with Veritrack?" in page.inner_text("#chat")  # the learner's message is kept
        page.click("#retry")
        wait_text(page, "#chat", "want proof this time.")
        assert "The reply failed" not in page.inner_text("#chat")
        assert page.inner_text("#chat").count("What went wrong with Veritrack?") == 1


def test_each_browser_session_is_isolated(app_url):
    with browser_page() as first, browser_page() as second:
        for page, persona in ((first, "procurement-skeptic"), (second, "disengaged-student")):
            page.goto(app_url)
            page.click(f"#start-{persona}")
            page.wait_for_selector("#message textarea")
        send(first, "Message from the first browser")
        send(second, "Message from the second browser")
        assert "second browser" not in first.inner_text("#chat") and "first browser" not in second.inner_text("#chat")
        assert "Dana" in first.inner_text("#brief") and "Kayla" in second.inner_text("#brief")


def test_settings_offers_the_operator_endpoints_and_reports_failures_clearly(library, tmp_path, monkeypatch):
    from rapport.ui import build_app

    (tmp_path / "rapport.toml").write_text(
        '[endpoints.lab]\nprovider = "openai"\nmodel = "llama3"\nbase_url = "http://127.0.0.1:9/v1"\n')
    monkeypatch.chdir(tmp_path)
    with served(build_app(library, fake_persona_model())) as url, browser_page() as page:
        page.goto(url)
        page.click("#tab-settings-button")
        assert "Persona model now" in page.inner_text("#settings-current")
        assert page.locator("#settings-own-url").count() == 0  # no URL field unless the operator allows one
        page.click("#settings-persona input")
        page.click("[role=option]:has-text('lab: openai:llama3')")
        page.click("#settings-persona-test")
        wait_text(page, "#settings-persona-result", "cannot reach the persona model at http://127.0.0.1:9/v1")
        page.click("#settings-persona input")
        page.click("[role=option]:has-text('the default')")
        page.click("#settings-persona-test")
        wait_text(page, "#settings-persona-result", "answered in")
        screenshot(page, "06-settings")


def test_reports_tab_shows_eval_runs(app_url, tmp_path, monkeypatch):
    import subprocess
    import sys

    runs = tmp_path / "runs"
    suite = Path(__file__).resolve().parent.parent / "evals" / "suites" / "smoke.yaml"
    subprocess.run([sys.executable, "-m", "rapport.cli", "eval", str(suite), "--out", str(runs / "smoke-run")],
                   check=True, capture_output=True, timeout=300)
    monkeypatch.setenv("RAPPORT_RUNS_DIR", str(runs))
    with browser_page() as page:
        page.goto(app_url)
        page.click("#tab-reports-button")
        page.click("#reports-refresh")
        page.wait_for_selector("#reports-view iframe", timeout=30_000)
        frame = page.frame_locator("#reports-view iframe")
        frame.locator("text=Rapport eval report").wait_for(timeout=30_000)
        screenshot(page, "05-reports")


def test_login_gives_each_user_their_own_history(library, tmp_path, monkeypatch):
    from rapport.ui import build_app
    from rapport.ui.auth import write_user

    users = tmp_path / "users.toml"
    write_user(users, "ana", "ana-password")
    write_user(users, "ben", "ben-password")
    monkeypatch.setenv("RAPPORT_AUTH", str(users))
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path / "home"))
    with served(build_app(library, fake_persona_model())) as url:
        for user in ("ana", "ben"):
            with browser_page() as page:
                page.goto(url)
                page.fill("input[type=text]", user)
                page.fill("input[type=password]", f"{user}-password")
                page.keyboard.press("Enter")
                page.wait_for_selector("#start-procurement-skeptic", timeout=30_000)
                if user == "ana":
                    page.click("#start-procurement-skeptic")
                    page.wait_for_selector("#message textarea")
                    send(page, "Hello Dana, what went wrong last time?")
                page.click("#tab-history-button")
                if user == "ana":
                    wait_text(page, "#history-table", "Dana Whitfield")
                else:
                    wait_text(page, "#history-suggestion", "No sessions yet")
        with browser_page() as page:
            page.goto(url)
            page.fill("input[type=text]", "ana")
            page.fill("input[type=password]", "wrong")
            page.keyboard.press("Enter")
            page.wait_for_timeout(1500)
            assert page.locator("#start-procurement-skeptic").count() == 0


def _replace_editor_text(page, text: str) -> None:
    page.click("#studio-editor .cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_persona_studio_validates_live_tries_and_saves(app_url, library):
    original = library.source("disengaged-student").path.read_text(encoding="utf-8")
    with browser_page() as page:
        page.goto(app_url)
        page.click("#tab-studio-button")
        page.wait_for_selector("#studio-source")
        page.click("#studio-source input")
        page.click("[role=option]:has-text('disengaged-student')")
        page.click("#studio-load")
        wait_text(page, "#studio-validation", "Valid")
        assert "Kayla" in page.inner_text("#studio-card")

        broken = original.replace("domain: education", "domain: schooling")
        _replace_editor_text(page, broken)
        wait_text(page, "#studio-validation", "error")
        line = next(i for i, l in enumerate(broken.splitlines(), 1) if l.startswith("domain:"))
        assert f"line {line}: domain:" in page.inner_text("#studio-validation")
        screenshot(page, "07-studio-error")

        mine = original.replace("id: disengaged-student", "id: kayla-my-version").replace(
            "name: Kayla Brennan", "name: Kayla B."
        )
        _replace_editor_text(page, mine)
        wait_text(page, "#studio-validation", "Valid")
        page.click("#studio-try")
        page.wait_for_selector("#studio-message textarea")
        send(page, "Hi Kayla, how are things?", prefix="studio-")
        wait_text(page, "#studio-chat", "want proof this time")

        page.click("#studio-save")
        wait_text(page, "#studio-saved", "Saved")
        saved = Path(os.environ["RAPPORT_HOME"]) / "personas" / "kayla-my-version.yaml"
        assert saved.read_text(encoding="utf-8") == mine
        page.click("#studio-save")  # a second save must not overwrite silently
        wait_text(page, "#studio-saved", "Not saved")


def test_studio_imports_and_exports_character_cards(app_url, tmp_path):
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
        wait_text(page, "#studio-import-notes", "Imported")
        wait_text(page, "#studio-validation", "Valid")
        assert "Mira Voss" in page.inner_text("#studio-card")
        with page.expect_download() as download:
            page.click("#studio-export")
            page.wait_for_selector("#studio-exported a", timeout=15_000)
            page.click("#studio-exported a")
        exported = json.loads(download.value.path().read_text())
        assert exported["spec"] == "chara_card_v3" and exported["data"]["name"] == "Mira Voss"


def test_an_unfinished_session_can_be_resumed_from_history(app_url):
    with browser_page() as page:
        page.goto(app_url)
        page.click("#start-diabetes-newly-diagnosed")
        page.wait_for_selector("#message textarea")
        send(page, "How have the last weeks been, Tomasz?")
    with browser_page() as page:  # a new browser, as after the app or the laptop restarted
        page.goto(app_url)
        page.click("#tab-history-button")
        wait_text(page, "#history-table", "unfinished")
        page.click("#history-picker input")
        page.locator("[role=option]:has-text('unfinished')").first.click()
        page.click("#history-resume")
        wait_text(page, "#chat", "How have the last weeks been, Tomasz?")
        send(page, "What worries you most about the tablets?")
        assert page.inner_text("#chat").count("How have the last weeks been, Tomasz?") == 1


def test_users_add_writes_a_hashed_password(tmp_path):
    import subprocess
    import sys

    from rapport.ui.auth import check_password, read_users

    path = tmp_path / "users.toml"
    result = subprocess.run([sys.executable, "-m", "rapport.cli", "users", "add", "ana", "--file", str(path)],
                            input="s3cret\ns3cret\n", capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    stored = read_users(path)["ana"].password_hash
    assert "s3cret" not in path.read_text() and check_password("s3cret", stored) and not check_password("nope", stored)


def test_with_a_judge_model_the_scorecards_sit_side_by_side(library, openai_server, monkeypatch, tmp_path):
    from evals.rubric import load_rubric
    from rapport.ui import build_app

    from .test_evaluator import judge_reply

    rubric = load_rubric("sales-discovery")
    openai_server.responder = lambda body: judge_reply(rubric, 4, (1, "What went wrong with your last vendor?"))
    monkeypatch.setenv("RAPPORT_JUDGE_MODEL", f"openai:judge@{openai_server.base_url}")
    monkeypatch.setenv("RAPPORT_HOME", str(tmp_path))
    with served(build_app(library, fake_persona_model())) as url, browser_page() as page:
        page.goto(url)
        page.click("#start-procurement-skeptic")
        page.wait_for_selector("#message textarea")
        send(page, "What went wrong with your last vendor?")
        page.click("#end")
        wait_text(page, "#scorecard", "Offline coder", 60_000)
        assert "Scorecard (judge model)" in page.inner_text("#scorecard")
        judge, offline = page.inner_text("#sc-judge"), page.inner_text("#sc-offline")
        assert "Empathy" in judge and "Empathy" in offline and "4.0" in judge
        assert page.locator("#scorecard svg").first.inner_html().count("<polygon") >= 2  # both on the radar
        screenshot(page, "08-judge-and-offline")
