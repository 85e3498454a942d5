"""Resuming where you were, in Debian's Chromium: the browser keeps the open session's id, a reloaded page (as on
another app process) reopens the conversation, and an ended one is forgotten. Kept with the other browser tests,
which run last (Playwright's sync API leaves an event loop running in the test process)."""

from __future__ import annotations


def kept_in_browser(page) -> str | None:
    """The encrypted value the browser keeps (it changes whenever the kept session id does)."""
    from rapport.ui.live_session import STORAGE_KEY

    return page.evaluate("key => localStorage.getItem(key)", STORAGE_KEY)


def wait_kept_changes(page, before: str | None) -> None:
    from rapport.ui.live_session import STORAGE_KEY

    page.wait_for_function("([key, before]) => localStorage.getItem(key) !== before", arg=[STORAGE_KEY, before])


def test_a_reloaded_page_reopens_the_conversation_until_it_ends(library):
    """The browser's half: the kept id survives a reload (a new page, as on another process), and is forgotten
    once the session ends or the learner goes back to the gallery."""
    from rapport.ui import build_app

    from .browser_support import browser_page, served
    from .test_ui_browser import fake_persona_model, send, wait_text

    with served(build_app(library, fake_persona_model())) as url, browser_page() as page:
        page.goto(url)
        page.click("#start-diabetes-newly-diagnosed")
        page.wait_for_selector("#message textarea")
        wait_kept_changes(page, None)
        send(page, "How have the last weeks been, Tomasz?")
        page.reload()
        wait_text(page, "#chat", "How have the last weeks been, Tomasz?")
        assert page.is_hidden("#picker")
        send(page, "What worries you most about the tablets?")
        before = kept_in_browser(page)
        page.click("#end")
        wait_text(page, "#scorecard", "Overall")
        wait_kept_changes(page, before)  # forgotten once the scorecard shows
        page.reload()
        page.wait_for_selector("#start-diabetes-newly-diagnosed")
        page.wait_for_timeout(1000)  # the load event has run by now; nothing may reopen the ended session
        assert page.is_visible("#picker") and page.is_hidden("#conversation")

        before = kept_in_browser(page)
        page.click("#start-disengaged-student")
        page.wait_for_selector("#message textarea")
        wait_kept_changes(page, before)
        before = kept_in_browser(page)
        page.click("#back")
        wait_kept_changes(page, before)
        page.reload()
        page.wait_for_selector("#start-disengaged-student")
        page.wait_for_timeout(1000)
        assert page.is_visible("#picker") and page.is_hidden("#conversation")
