"""Issue 14, items 5 and 11, in a real browser (Debian's chromium via Playwright) against the fake model.

- Nothing the app renders makes the browser contact any host but the app itself, whatever Markdown or HTML a
  persona file, a model reply or a learner message holds (every request of the page is recorded).
- No typed word is lost: a message sent while a reply streams is shown at once and answered next, text typed
  while a reply streams stays in the box, and a message that cannot be sent after all goes back to the box.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import yaml

from simulator.config import ModelSpec
from simulator.models import ScriptedChatModel

from .browser_support import browser_page, screenshot, served

HOST = "203.0.113.5"  # TEST-NET-3: an address literal that is never anyone's server (and no DNS look-up)


def hostile(tag: str) -> str:
    """Every way Markdown or HTML could make a browser fetch something, each with its own path."""
    u = f"http://{HOST}/{tag}"
    return (f"{tag} ![i]({u}-md.png) <img src=\"{u}-raw.png\"> [l]({u}-link) <{u}-auto> ![r][{tag}-ref] "
            f"<video poster=\"{u}-poster.png\"></video> <svg><image href=\"{u}-svg.png\"/></svg> "
            f"&lt;img src={u}-entity.png&gt; &#60;img src=\"{u}-numeric.png\"&#62; $$\\includegraphics{{{u}-tex.png}}$$"
            f" www.{HOST}.example/{tag}\n\n[{tag}-ref]: {u}-ref.png")


def short(tag: str) -> str:
    return f"![{tag}](http://{HOST}/{tag}.png)"


def hostile_persona(source: dict) -> dict:
    """The bundled disengaged student with hostile Markdown in every text field."""
    p = {**source, "id": "hostile-markdown"}
    p["name"] = f"{short('n')} Eve"  # the first word is the short name, shown on buttons and in the status line
    p["role"] = hostile("role")
    p["summary"] = f"{short('s')} <img src=\"http://{HOST}/s-raw.png\"> <http://{HOST}/s-auto>"
    p["background"] = hostile("background")
    p["scenario"] = {**source["scenario"], "setting": hostile("setting"), "learner_role": hostile("learner-role"),
                     "learner_label": f"<img src=http://{HOST}/label.png>",
                     "learner_brief": hostile("brief"), "learner_goal": hostile("goal")}
    p["personality"] = {**source["personality"], "traits": [hostile("trait")],
                        "communication_style": hostile("style"), "emotional_baseline": hostile("baseline"),
                        "speech_examples": [hostile("example")]}
    p["goals"] = [hostile("goals")]
    p["concerns"] = [hostile("concerns")]
    p["hidden_information"] = [{**item, "content": hostile(f"hidden-{item['id']}")}
                               for item in source["hidden_information"]]
    p["triggers"] = {side: [{**t, "description": hostile(f"trigger-{side}")} for t in triggers]
                     for side, triggers in source["triggers"].items()}
    p["opening_line"] = f"*looks up* {hostile('opening')}"
    p["outcomes"] = {"success": {**source["outcomes"]["success"], "description": hostile("success"),
                                 "closing_line": hostile("success-line")},
                     "failure": {**source["outcomes"]["failure"], "description": hostile("failure"),
                                 "closing_line": hostile("failure-line")}}
    p["nonverbal_cues"] = [f"*glances at {short('cue')}*"]
    p["knowledge"] = [{**k, "content": hostile(f"knowledge-{k['id']}")} for k in source["knowledge"]]
    return p


def persona_model(model: ScriptedChatModel):
    from rapport.ui import PersonaModel

    wrapped = PersonaModel(ModelSpec(provider="fake"))
    wrapped.model = model
    return wrapped


def wait_idle(page, prefix: str = "", timeout: float = 60_000) -> None:
    page.wait_for_function(f"!document.querySelector('#{prefix}status').innerText.includes('replying')",
                           timeout=timeout)


# -- item 5: no external fetches ------------------------------------------------------------------------------


@pytest.fixture
def hostile_library(tmp_path):
    from simulator.paths import bundled_personas_dir
    from simulator.persona import PersonaLibrary
    from simulator.persona.library import Origin

    source = yaml.safe_load((bundled_personas_dir() / "disengaged-student.yaml").read_text(encoding="utf-8"))
    folder = tmp_path / "personas"
    folder.mkdir()
    (folder / "hostile-markdown.yaml").write_text(yaml.safe_dump(hostile_persona(source), allow_unicode=True),
                                                  encoding="utf-8")
    library = PersonaLibrary([(bundled_personas_dir(), Origin.BUNDLED), (folder, Origin.USER)])
    assert "hostile-markdown" in {s.spec.id for s in library}, library.problems
    return library


EXTERNAL_IN_DOM = """(host) => {
    // Attributes that make a browser fetch or navigate (text in aria-label or title is only text).
    const urls = ['src', 'href', 'xlink:href', 'srcset', 'poster', 'data', 'action', 'formaction', 'background',
                  'style', 'ping'];
    const found = [];
    for (const el of document.querySelectorAll('*')) {
        for (const attr of urls) {
            const value = el.getAttribute(attr) || '';
            if (value.includes(host)) found.push(`<${el.tagName.toLowerCase()} ${attr}="${value}">`);
        }
    }
    return found;
}"""


def test_hostile_markdown_everywhere_fetches_nothing_but_the_app(hostile_library, tmp_path, monkeypatch):
    """Cards, brief, chat (opening line, a learner message and a model reply full of Markdown), coach hints,
    scorecard, history and an eval report: every request the page makes goes to the app, and no element points
    elsewhere."""
    from rapport.ui import build_app

    os.environ["RAPPORT_HOME"] = str(tmp_path / "home")
    run = tmp_path / "runs" / "hostile-run"  # a report written from persona and model text
    run.mkdir(parents=True)
    (run / "report.json").write_text("{}", encoding="utf-8")
    (run / "report.html").write_text(f"<!doctype html><html><head><title>r</title></head><body>{hostile('report')}"
                                     f"<link rel=stylesheet href=http://{HOST}/report.css></body></html>",
                                     encoding="utf-8")
    monkeypatch.setenv("RAPPORT_RUNS_DIR", str(run.parent))
    model = ScriptedChatModel(respond=lambda messages: "*shrugs* Fine. " + hostile("reply") + " Whatever.",
                               delay=0.001)
    with served(build_app(hostile_library, persona_model(model))) as url, browser_page() as page:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        # A request the page's Content-Security-Policy refused is reported too, but never left the browser.
        refused: list[str] = []
        page.on("requestfailed", lambda r: refused.append(r.url) if r.failure == "csp" else None)
        # Record every request, let none leave: a request to elsewhere is recorded, then aborted at once.
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(origin)
                   or route.request.url.startswith(("data:", "blob:")) else route.abort())

        def only_the_app(stage: str) -> None:
            page.wait_for_timeout(300)  # let what was just rendered start loading
            elsewhere = [r for r in requests if not r.startswith((origin, "data:", "blob:")) and r not in refused]
            assert elsewhere == [], f"{stage}: the browser contacted other hosts: {elsewhere}"
            assert page.evaluate(EXTERNAL_IN_DOM, HOST) == [], stage

        page.goto(url)
        page.wait_for_selector("#start-hostile-markdown")
        only_the_app("persona cards")
        assert f"![n](http://{HOST}/n.png) Eve" in page.inner_text("#picker")  # shown as text, not as markup
        screenshot(page, "safety-01-hostile-persona-card")
        page.click("#start-hostile-markdown")
        page.wait_for_selector("#message textarea")
        page.wait_for_function("document.querySelector('#brief').innerText.includes('Your goal')")
        only_the_app("brief and opening line")
        assert f"![i](http://{HOST}/brief-md.png)" in page.inner_text("#brief")
        assert f"<img src=\"http://{HOST}/opening-raw.png\">" in page.inner_text("#chat")
        for said in (f"Sounds like a lot. {hostile('learner')}", "You're not in trouble. What would help?"):
            page.fill("#message textarea", said)
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('#status').innerText.includes('replying')")
            wait_idle(page)
        only_the_app("chat")
        chat = page.inner_text("#chat")
        assert f"![i](http://{HOST}/reply-md.png)" in chat and f"<http://{HOST}/learner-auto>" in chat
        assert page.locator("#chat em:has-text('shrugs')").count() >= 1  # stage directions still in italics
        screenshot(page, "safety-02-hostile-chat")

        page.click("#end")
        page.wait_for_function("document.querySelector('#scorecard').innerText.includes('Overall')", timeout=60_000)
        only_the_app("scorecard")
        assert f"![i](http://{HOST}/reply-md.png)" in page.inner_text("#scorecard")
        screenshot(page, "safety-03-hostile-scorecard")

        page.click("#tab-history-button")
        page.wait_for_function("document.querySelector('#history-table').innerText.includes('Eve')")
        page.click("#history-picker input")
        page.locator("[role=option]").first.click()
        page.click("#history-open")
        page.wait_for_function("document.querySelector('#history-opened').innerText.includes('Overall')")
        only_the_app("history")

        page.click("#tab-reports-button")
        page.click("#reports-refresh")
        page.wait_for_selector("#reports-view iframe")
        frame = page.frame_locator("#reports-view iframe")
        frame.locator("body").wait_for()
        only_the_app("eval report")
        assert any(r.startswith(origin) for r in requests)  # the recorder saw the app's own requests


# -- item 11: no typed word is lost ---------------------------------------------------------------------------

SLOW = " ".join(f"word{i}" for i in range(40))  # 40 words at 0.08 s each: about 3 s of streaming


def numbered_replies():
    count = {"n": 0}

    def respond(messages):
        count["n"] += 1
        return f"Reply {count['n']} starts. {SLOW} Reply {count['n']} ends."

    return respond


def chat_rows(page) -> list[tuple[str, str]]:
    """(user|bot, text) for each message row of the practice chat, in order."""
    rows = page.evaluate("""() => Array.from(document.querySelectorAll('#chat .message-row')).map(
        row => [row.classList.contains('user-row') ? 'user' : 'bot', row.innerText])""")
    return [tuple(row) for row in rows]


def start_and_send_first(page, url: str) -> None:
    """Open the app, start with Kayla and send the first message (the reply then streams slowly)."""
    page.goto(url)
    page.click("#start-disengaged-student")
    page.wait_for_selector("#message textarea")
    page.fill("#message textarea", "First: how has this term been?")
    page.keyboard.press("Enter")


@pytest.fixture
def slow_app(library, tmp_path):
    from rapport.ui import build_app

    os.environ["RAPPORT_HOME"] = str(tmp_path / "home")
    model = ScriptedChatModel(respond=numbered_replies(), delay=0.08)
    with served(build_app(library, persona_model(model))) as url:
        yield url


def test_messages_sent_or_typed_while_a_reply_streams_are_kept(slow_app):
    with browser_page() as page:
        start_and_send_first(page, slow_app)
        # The learner's message is in the chat, as the learner's, while the reply is still coming.
        page.wait_for_function("document.querySelector('#chat').innerText.includes('Reply 1 starts')")
        rows = chat_rows(page)
        assert ("user", "First: how has this term been?") in [(who, text.strip()) for who, text in rows]
        assert "Reply 1 ends" not in page.inner_text("#chat")
        assert rows[-1][0] == "bot" and rows[-2][0] == "user" and "First:" in rows[-2][1]  # a bubble of its own

        # Enter while the reply streams: the message is taken, shown at once, and answered next.
        page.fill("#message textarea", "Second: what would help?")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('Second: what would help?')",
                               timeout=2_000)
        assert "Reply 1 ends" not in page.inner_text("#chat")
        assert page.input_value("#message textarea") == ""
        screenshot(page, "safety-04-message-queued-while-streaming")

        # Typing while the replies stream: nothing the stream updates touches the box.
        page.click("#message textarea")
        page.keyboard.type("a draft I am still writing", delay=20)
        page.wait_for_function("document.querySelector('#chat').innerText.includes('Reply 2 ends')",
                               timeout=60_000)
        wait_idle(page)
        assert page.input_value("#message textarea") == "a draft I am still writing"

        order = [(who, text.strip().split(".")[0].split("?")[0]) for who, text in chat_rows(page)][1:]
        assert order == [("user", "First: how has this term been"), ("bot", "Reply 1 starts"),
                         ("user", "Second: what would help"), ("bot", "Reply 2 starts")]
        screenshot(page, "safety-05-queued-message-answered-draft-kept")


def test_a_queued_message_goes_back_to_the_box_when_the_reply_fails(library, tmp_path):
    from rapport.ui import build_app

    os.environ["RAPPORT_HOME"] = str(tmp_path / "home")
    cut = RuntimeError("connection reset by the model server")
    model = ScriptedChatModel(respond=numbered_replies(), delay=0.1, fail_with=[cut, cut], fail_after=15)
    with served(build_app(library, persona_model(model))) as url, browser_page() as page:
        start_and_send_first(page, url)
        page.wait_for_function("document.querySelector('#status').innerText.includes('replying')")
        page.fill("#message textarea", "Second, sent while the reply was failing")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('Second, sent')", timeout=2_000)
        page.wait_for_function("document.querySelector('#chat').innerText.includes('The reply failed')",
                               timeout=60_000)
        page.wait_for_function("document.querySelector('#message textarea').value.includes('Second, sent')")
        assert page.input_value("#message textarea") == "Second, sent while the reply was failing"
        assert "Second, sent" not in page.inner_text("#chat")  # not sent: in the box, not shown as sent
        assert "First: how has this term been?" in page.inner_text("#chat")  # kept, for Retry
        assert "back in the box" in page.inner_text("#status")
        page.click("#retry")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('Reply 1 ends')", timeout=60_000)
        page.click("#message textarea")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#chat').innerText.includes('Reply 2 ends')", timeout=60_000)
        assert page.inner_text("#chat").count("Second, sent while the reply was failing") == 1
        assert page.input_value("#message textarea") == ""
