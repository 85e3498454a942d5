"""Serve the gradio app on 127.0.0.1 and drive it with Playwright in Debian's chromium (headless)."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("RAPPORT_SKIP_BROWSER"):
            pytest.skip("chromium is not installed and RAPPORT_SKIP_BROWSER is set")
        pytest.fail("Debian's chromium is missing: run `make test` (it installs the chromium package)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(demo) -> Iterator[str]:
    """Serve a built gradio app in this process; yields its URL."""
    from rapport.ui.app import serve

    port = free_port()
    serve(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


_browser = None
_playwright = None


def _shared_playwright():
    """One Playwright per test process (the sync API refuses a second one on the same thread)."""
    global _playwright
    if _playwright is None:
        import atexit

        from playwright.sync_api import sync_playwright

        _playwright = sync_playwright().start()
        atexit.register(lambda: (_browser and _browser.close(), _playwright.stop()))
    return _playwright


def _shared_browser():
    """One headless chromium per test process; each page gets its own context (cookies, storage, session)."""
    global _browser
    if _browser is None:
        _browser = _shared_playwright().chromium.launch(executable_path=chromium_path(), headless=True,
                                                        args=CHROMIUM_FLAGS)
    return _browser


def fake_microphone(wav: Path) -> list[str]:
    """Chromium flags for a microphone that plays `wav` once per recording, granted without asking, and for
    audio that plays without a click first."""
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}%noloop", "--autoplay-policy=no-user-gesture-required"]


@contextmanager
def chromium_with(*flags: str):
    """A chromium of its own, started with extra flags (a fake microphone, say); yields a fresh page in it."""
    browser = _shared_playwright().chromium.launch(executable_path=chromium_path(), headless=True,
                                                   args=[*CHROMIUM_FLAGS, *flags])
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.remote_requests = []
        page.on("request", lambda r: page.remote_requests.append(r.url)
                if not r.url.startswith(("http://127.0.0.1", "data:", "blob:", "file:", "about:")) else None)
        yield page
    finally:
        browser.close()


@contextmanager
def browser_page(viewport: dict | None = None):
    """A fresh page in a fresh browser context that records any request leaving 127.0.0.1."""
    context = _shared_browser().new_context(viewport=viewport or {"width": 1280, "height": 900}, accept_downloads=True)
    try:
        page = context.new_page()
        page.remote_requests = []
        page.on(
            "request",
            lambda r: page.remote_requests.append(r.url)
            if not r.url.startswith(("http://127.0.0.1", "data:", "blob:", "file:", "about:"))
            else None,
        )
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
