"""Take the README screenshot: the real app, on the configured persona model, after two learner turns.

Run: .venv/bin/python scripts/readme_screenshot.py  (needs Debian's chromium; `make test` installs it)
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.browser_support import browser_page, served  # noqa: E402

from rapport.ui import build_app  # noqa: E402

LEARNER_TURNS = [
    "Thanks for seeing me, Tomasz. Before we talk about tablets, how have the last few weeks been for you?",
    "That sounds like a lot to carry on your own. What worries you most about starting the metformin?",
]


def main(out: Path = REPO / "docs" / "images" / "practice.png") -> None:
    with served(build_app()) as url, browser_page({"width": 1100, "height": 900}) as page:
        page.goto(url)
        page.click("#start-diabetes-newly-diagnosed")
        page.wait_for_selector("#message textarea")
        for text in LEARNER_TURNS:
            page.fill("#message textarea", text)
            page.keyboard.press("Enter")
            page.wait_for_function("document.querySelector('#status').innerText.includes('replying')", timeout=30_000)
            page.wait_for_function("!document.querySelector('#status').innerText.includes('replying')", timeout=300_000)
        page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
