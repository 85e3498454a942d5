"""Take the README screenshots: the real app, on the configured persona model (the embedded one by default).

Run: .venv/bin/python scripts/readme_screenshot.py  (needs Debian's chromium; `make test` installs it)
     .venv/bin/python scripts/readme_screenshot.py voice  (the voice screenshot: a fake microphone plays a test WAV)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("RAPPORT_HOME", tempfile.mkdtemp(prefix="rapport-screenshot-"))

from tests.browser_support import browser_page, served  # noqa: E402

from rapport.ui import build_app  # noqa: E402

LEARNER_TURNS = [
    "Thanks for seeing me, Tomasz. Before we talk about tablets, how have the last few weeks been for you?",
    "That sounds like a lot to carry on your own. What worries you most about starting the metformin?",
    "It makes sense to be wary. You mentioned your dad had diabetes too. What was that like for your family?",
]


def start(page, url: str, persona_id: str) -> None:
    page.goto(url)
    page.click(f"#start-{persona_id}")
    page.wait_for_selector("#message textarea")


def end_and_shoot(page, conversation: Path, ready: str, result: str, result_png: Path) -> None:
    """Screenshot the conversation, end it, and once `ready` shows, screenshot `result`."""
    page.locator("#conversation").screenshot(path=str(conversation))
    page.click("#end")
    page.wait_for_selector(ready, timeout=300_000)
    page.locator(result).screenshot(path=str(result_png))


def main(images: Path = REPO / "docs" / "images") -> None:
    with served(build_app()) as url, browser_page({"width": 1200, "height": 900}) as page:
        start(page, url, "diabetes-newly-diagnosed")
        for text in LEARNER_TURNS:
            page.fill("#message textarea", text)
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('#status').innerText.includes('replying')", timeout=30_000)
            page.wait_for_function("!document.querySelector('#status').innerText.includes('replying')", timeout=300_000)
        end_and_shoot(page, images / "practice.png", "#scorecard:has-text('Overall')", "#scorecard",
                      images / "scorecard.png")
    print(f"wrote {images / 'practice.png'} and {images / 'scorecard.png'}")


def voice(images: Path = REPO / "docs" / "images") -> None:
    """A spoken turn with a fake microphone (a shipped test recording), the reply spoken, then Delivery."""
    import time

    from tests.browser_support import chromium_with, fake_microphone

    wav = REPO / "tests" / "data" / "voice" / "fake-microphone-48k.wav"
    with served(build_app()) as url, chromium_with(*fake_microphone(wav)) as page:
        page.set_viewport_size({"width": 1200, "height": 900})
        start(page, url, "upset-parent")
        page.click("#voice-mode input")
        page.wait_for_function("document.querySelector('#voice-status').innerText.includes('ready')", timeout=30_000)
        page.click("#voice-mic button.record-button")
        time.sleep(4.8)
        page.click("#voice-mic button.stop-button")
        page.wait_for_function("!document.querySelector('#status').innerText.includes('replying')", timeout=300_000)
        page.wait_for_function("window.rapportVoice.state.finished >= 1", timeout=60_000)
        end_and_shoot(page, images / "voice.png", "#sc-delivery", "#sc-delivery", images / "delivery.png")
    print(f"wrote {images / 'voice.png'} and {images / 'delivery.png'}")


if __name__ == "__main__":
    voice() if sys.argv[1:] == ["voice"] else main()
