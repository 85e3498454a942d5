"""The `rapport` command as a user runs it: one-line errors, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys


def rapport(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, "COLUMNS": "200", **env},
        timeout=120,
    )


def test_personas_list_shows_every_bundled_persona(library):
    result = rapport("personas", "list")
    assert result.returncode == 0
    for persona_id in library.ids():
        assert persona_id in result.stdout
    only_sales = rapport("personas", "list", "--domain", "sales").stdout
    assert "procurement-skeptic" in only_sales and "disengaged-student" not in only_sales


def test_personas_show_prints_the_yaml():
    result = rapport("personas", "show", "disengaged-student")
    assert result.returncode == 0 and "id: disengaged-student" in result.stdout


def test_unknown_persona_is_one_line_and_debug_shows_the_traceback():
    result = rapport("chat", "no-such-persona", RAPPORT_PERSONA_MODEL="fake")
    assert result.returncode == 1
    assert result.stderr.startswith("error: no persona with id 'no-such-persona'; known ids:")
    assert "Traceback" not in result.stderr
    debug = rapport("--debug", "chat", "no-such-persona", RAPPORT_PERSONA_MODEL="fake")
    assert "Traceback" in debug.stderr


def test_models_shows_each_role_and_where_it_is_set():
    result = rapport("models", RAPPORT_JUDGE_MODEL="openai:judge-model@http://127.0.0.1:9/v1")
    assert "embedded:qwen-1.5b (default)" in result.stdout
    # the offline choices, with size and licence, so a user can pick the fast one
    assert "qwen-1.5b (default)" in result.stdout and "1117 MB" in result.stdout and "Apache-2.0" in result.stdout
    assert "gemma-270m" in result.stdout and "Gemma Terms of Use" in result.stdout
    assert "openai:judge-model @ http://127.0.0.1:9/v1" in result.stdout and "RAPPORT_JUDGE_MODEL" in result.stdout


def test_models_test_reports_an_unreachable_server_in_one_line():
    result = rapport("models", "test", "persona", RAPPORT_PERSONA_MODEL="openai:x@http://127.0.0.1:9/v1")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the persona model at http://127.0.0.1:9/v1")


def test_terminal_chat_with_undo_and_end(library):
    session_input = "Hello Dana, what went wrong last time?\n/undo\nWhat matters most to you this time?\n/end\n"
    result = rapport("chat", "procurement-skeptic", "--difficulty", "hard", input=session_input, RAPPORT_PERSONA_MODEL="fake")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert library.get("procurement-skeptic").opening_line.split(".")[0] in out
    assert "(last exchange removed)" in out
    assert "You said to you this time." in out  # the fake model echoes the last words it was sent
    assert "Conversation over: you ended the conversation." in out
