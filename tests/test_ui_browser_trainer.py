"""Teams in Debian's Chromium: a learner sees and starts her assignments, a trainer sees the cohort's heatmap,
opens a cell, comments and overrides, and the learner reads the comment in History. Screenshots are kept."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rapport.ui import auth
from simulator.roles import UserRole
from simulator.store import AssignmentSpec, PassBar, TeamStore

from .test_teams import ANA, BEN, TESS, attempt

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


def log_in(page, url: str, user: str) -> None:
    page.goto(url)
    page.fill("input[type=text]", user)
    page.fill("input[type=password]", f"{user}-pw")
    page.keyboard.press("Enter")
    page.wait_for_selector("#start-grieving-friend", timeout=30_000)  # the gallery has rendered


def test_a_trainer_reviews_a_cohort_and_the_learner_reads_the_comment(library, tmp_path, monkeypatch):
    from rapport.ui import build_app

    from .browser_support import browser_page, screenshot, served
    from .test_ui_browser import fake_persona_model

    monkeypatch.setattr(auth, "ITERATIONS", 1000)
    users = tmp_path / "users.toml"
    for name, role in (("tess", UserRole.TRAINER), ("ana", UserRole.LEARNER), ("ben", UserRole.LEARNER)):
        auth.write_user(users, name, f"{name}-pw", role)
    monkeypatch.setenv("RAPPORT_AUTH", str(users))
    teams = TeamStore()
    teams.create_cohort("Nursing", TESS)
    teams.add_members("Nursing", ["ana", "ben"], TESS)
    grief = teams.assign("Nursing", AssignmentSpec(title="Breaking bad news", persona_id="grieving-friend",
                                                   max_attempts=3, pass_bar=PassBar.parse("empathy>=3.5")), TESS)
    first = {"empathy": 2.5, "active_listening": 3.0, "authenticity": 3.5, "common_ground": 2.0}
    attempt(teams, library, grief, ANA, first)
    latest = attempt(teams, library, grief, ANA, {**first, "empathy": 3.0, "active_listening": 4.0})
    attempt(teams, library, grief, BEN, {"empathy": 4.5, "active_listening": 4.0, "authenticity": 4.0,
                                         "common_ground": 3.5}, success=True)

    with served(build_app(library, fake_persona_model())) as url:
        with browser_page() as page:  # the learner: her assignment at the top of Practice, no Trainer tab
            log_in(page, url, "ana")
            page.wait_for_selector("#assignments-list li.assignment")
            assert page.locator("#assignments-list").inner_text().count("Breaking bad news") == 1
            assert page.locator("#assignments-list li[data-standing=done]").count() == 1
            assert not page.locator("#tab-trainer-button").is_visible()
            screenshot(page, "assignments")
            page.click("#assignment-start")
            page.wait_for_selector("#brief:has-text('Assessed attempt: Breaking bad news')", timeout=30_000)
            assert page.locator("#conversation").is_visible()
            page.click("#restart")  # an assessed attempt is a record: restart is refused, in words
            page.wait_for_selector("#status:has-text('assessed attempt')")
            assert page.remote_requests == []
        assert len(teams.results("Nursing", TESS).attempts) == 4  # the attempt started in the browser counts

        with browser_page({"width": 1280, "height": 1000}) as page:  # the trainer: heatmap, review, comment, override
            log_in(page, url, "tess")
            page.click("#tab-trainer-button")
            page.wait_for_selector(".cohort-heatmap .cell", timeout=30_000)
            assert page.locator(".cohort-distribution circle.marker").count() >= 8
            assert page.locator(".criteria-over-time").count() == 1
            assert "ana" in page.locator("#trainer-standings").inner_text()
            heat = page.locator("#trainer-heatmap")
            heat.scroll_into_view_if_needed()
            heat.screenshot(path=str(tmp_path / "heatmap.png"))
            screenshot(page, "trainer-cohort")
            cell = page.locator(".cohort-heatmap .cell[data-learner=ana][data-criterion=empathy]")
            assert cell.get_attribute("data-session") == latest and "latest 3.0" in cell.get_attribute("aria-label")
            cell.click()
            page.wait_for_selector("#trainer-review:has-text('ana with')", timeout=30_000)
            assert page.locator("#trainer-review .sc-transcript li").count() == 3
            assert "not passed" in page.locator("#trainer-review .sc-verdict").inner_text()
            assert page.locator("#review-criterion input").input_value() == "empathy"  # the cell's criterion
            page.fill("#review-turn input", "1")
            page.fill("#review-comment textarea", "You asked how she is holding up: good. Now name the loss.")
            page.click("#review-post")
            page.wait_for_selector("#trainer-review .comment:has-text('name the loss')")
            page.fill("#review-score input", "3.5")
            page.fill("#review-reason textarea", "She acknowledged his grief before asking.")
            page.click("#review-override")
            page.wait_for_selector("#trainer-review .override:has-text('machine 3.0')")
            assert ": passed." in page.locator("#trainer-review .sc-verdict").inner_text()  # the override counts
            screenshot(page, "trainer-review")
            # the cohort view now shows the trainer's score, and she passes
            page.click("#trainer-cohort-view-button")
            page.wait_for_selector(".cohort-heatmap .cell[data-learner=ana][data-criterion=empathy]"
                                   "[aria-label*='latest 3.5']")
            assert "passed" in page.locator("#trainer-standings").inner_text()
            page.click("#trainer-export-zip")  # "All assignments": the zip needs one, said beside the button
            page.wait_for_selector("#trainer-export-note:has-text('Choose one assignment')")
            page.click("#trainer-export")
            page.wait_for_selector("#trainer-files td.filename[aria-label='Nursing.json']")
            with page.expect_download() as download:
                page.click("#trainer-files tr:has(td[aria-label='Nursing.csv']) a.download-link")
            exported = Path(download.value.path()).read_text(encoding="utf-8")
            assert exported.startswith("cohort,assignment,") and exported.count("\nNursing,") == 4
            assert page.remote_requests == []

        with browser_page() as page:  # the learner reads the comment in History
            log_in(page, url, "ana")
            page.click("#tab-history-button")
            page.click("#history-picker input")
            page.click("[role=option]:has-text('reviewed by your trainer (1 comment, 1 score)')")
            page.click("#history-open")
            page.wait_for_selector("#history-opened .sc-review:has-text('name the loss')", timeout=30_000)
            review = page.locator("#history-opened .sc-review").inner_text()
            assert "machine 3.0" in review and "Breaking bad news" in review and ": passed." in review
            assert page.remote_requests == []
    if os.environ.get("RAPPORT_UPDATE_IMAGES"):  # the README's picture, redrawn on request only
        shutil.copy(tmp_path / "heatmap.png", IMAGES / "trainer-heatmap.png")
