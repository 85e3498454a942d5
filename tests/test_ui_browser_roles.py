"""Persona spaces in the real browser (kept with the other browser tests, which run last: Playwright's
sync API leaves an event loop running in the test process)."""

from __future__ import annotations

from rapport.ui import auth
from rapport.ui.auth import Role, write_user
from simulator.persona import PersonaLibrary

from .test_persona_spaces import save, variant


def test_in_the_browser_each_learner_sees_only_their_own_saved_personas(tmp_path, monkeypatch):
    from rapport.ui import build_app

    from .browser_support import browser_page, served
    from .test_ui_browser import fake_persona_model

    monkeypatch.setattr(auth, "ITERATIONS", 1000)
    users = tmp_path / "users.toml"
    for name in ("ana", "ben"):
        write_user(users, name, f"{name}-pw")
    monkeypatch.setenv("RAPPORT_AUTH", str(users))
    demo = build_app(PersonaLibrary(), fake_persona_model())
    save(demo.context.holder, variant("kayla-ana"), "ana", Role.LEARNER)
    with served(demo) as url:
        for user, sees in (("ana", True), ("ben", False)):
            with browser_page() as page:
                page.goto(url)
                page.fill("input[type=text]", user)
                page.fill("input[type=password]", f"{user}-pw")
                page.keyboard.press("Enter")
                page.wait_for_selector("#start-disengaged-student", timeout=30_000)  # the gallery has rendered
                assert (page.locator("#start-kayla-ana").count() == 1) is sees
                page.click("#tab-studio-button")
                page.wait_for_timeout(1500)  # the tab's select event fills the list with this user's personas
                page.click("#studio-source input")
                page.wait_for_selector("[role=option]:has-text('disengaged-student')")
                assert (page.locator("[role=option]:has-text('kayla-ana')").count() == 1) is sees
