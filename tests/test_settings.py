"""One settings object: command line > environment > rapport.toml > defaults, each value with its source."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.errors import ConfigError
from simulator.settings import load, settings

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-test-4f9a1c77e2b0"
DB_PASSWORD = "hunter2-db"


def rapport(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rapport.cli", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200", "PYTHONPATH": str(REPO), **env}, timeout=120)


def write_config(folder: Path) -> Path:
    path = folder / "rapport.toml"
    path.write_text('reader = "rules"\nruns_dir = "team-runs"\nrubrics = ["a", "b"]\n\n'
                    '[ui]\nallow_user_endpoints = true\n\n[models.persona]\nprovider = "fake"\n')
    return path


def test_environment_beats_rapport_toml_which_beats_defaults_and_each_value_names_its_source(tmp_path, monkeypatch):
    path = write_config(tmp_path)
    monkeypatch.chdir(tmp_path)
    current = settings()
    assert current.config_file == path
    assert (current.reader, current.source("reader")) == ("rules", f"{path}: reader")
    assert current.runs_dir == Path("team-runs") and current.rubrics == os.pathsep.join(["a", "b"])
    assert current.allow_user_endpoints and current.source("allow_user_endpoints") == f"{path}: [ui] allow_user_endpoints"
    assert (current.learner, current.source("learner")) == ("local", "default")

    monkeypatch.setenv("RAPPORT_READER", "judge")  # read afresh: no reset needed after a variable changes
    monkeypatch.setenv("RAPPORT_ALLOW_USER_ENDPOINTS", "0")
    current = settings()
    assert (current.reader, current.source("reader")) == ("judge", "RAPPORT_READER")
    assert not current.allow_user_endpoints and current.source("allow_user_endpoints") == "RAPPORT_ALLOW_USER_ENDPOINTS"

    from_flags = load({"reader": "coder"})  # what a shell passes from its own options
    assert (from_flags.reader, from_flags.source("reader")) == ("coder", "command line")

    monkeypatch.setenv("RAPPORT_LEARNER", "   ")  # blank is unset, as before
    assert settings().learner == "local"


def test_a_rewritten_rapport_toml_is_read_again(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rapport.toml").write_text('reader = "rules"\n')
    assert settings().reader == "rules"
    (tmp_path / "rapport.toml").write_text('reader = "judge"\n')  # same size, likely the same clock tick
    assert settings().reader == "judge"


def test_rapport_config_prints_each_source_and_masks_secrets(tmp_path):
    path = write_config(tmp_path)
    result = rapport("config", cwd=tmp_path, OPENAI_API_KEY=KEY, RAPPORT_LEARNER="ana",
                     RAPPORT_DATABASE_URL=f"postgresql://rapport:{DB_PASSWORD}@127.0.0.1:5432/rapport")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.rstrip() for line in result.stdout.splitlines() if line.strip()}
    assert rows["rapport.toml:"].endswith(str(path))
    assert re.search(r"RAPPORT_LEARNER\s+ana\s+RAPPORT_LEARNER$", rows["RAPPORT_LEARNER"])
    assert re.search(rf"RAPPORT_READER\s+rules\s+{re.escape(str(path))}: reader$", rows["RAPPORT_READER"])
    assert re.search(r"RAPPORT_CHROMA_PORT\s+\(not set\)\s+default$", rows["RAPPORT_CHROMA_PORT"])
    assert re.search(r"OPENAI_API_KEY\s+\(set, hidden\)\s+OPENAI_API_KEY$", rows["OPENAI_API_KEY"])
    assert "postgresql://rapport:***@127.0.0.1:5432/rapport" in rows["RAPPORT_DATABASE_URL"]
    assert KEY not in result.stdout and DB_PASSWORD not in result.stdout

    flagged = rapport("config", "--set", "RAPPORT_READER=judge", cwd=tmp_path)
    assert re.search(r"RAPPORT_READER\s+judge\s+command line", flagged.stdout)


def test_a_malformed_value_is_one_line_naming_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("RAPPORT_ALLOW_USER_ENDPOINTS", "maybe")
    with pytest.raises(ConfigError) as caught:
        settings()
    assert str(caught.value) == "RAPPORT_ALLOW_USER_ENDPOINTS='maybe': use 1 or 0 (true or false in rapport.toml)"
    monkeypatch.delenv("RAPPORT_ALLOW_USER_ENDPOINTS")

    result = rapport("config", cwd=tmp_path, RAPPORT_EMBED_THREADS="two")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: RAPPORT_EMBED_THREADS='two': ") and result.stderr.count("\n") == 1

    (tmp_path / "rapport.toml").write_text('embed_threads = "two"\n')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=r"rapport.toml: embed_threads: Input should be a valid integer"):
        settings()
    (tmp_path / "rapport.toml").write_text('readr = "judge"\n')
    with pytest.raises(ConfigError, match=r"rapport.toml: readr: not a setting"):
        settings()
    (tmp_path / "rapport.toml").write_text('judge_model = "openai:x"\n')  # roles live in [models.judge]
    with pytest.raises(ConfigError, match=r"judge_model: not a setting rapport.toml can hold; set it in the environment"):
        settings()


def test_a_key_is_read_by_the_name_a_spec_gives_and_never_kept(monkeypatch):
    monkeypatch.setenv("MY_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    current = settings()
    assert current.secret("MY_KEY") == KEY
    assert KEY not in repr(current) and KEY not in str(current.rows())


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for folder in ("simulator", "evals", "rapport"):
        for path in (REPO / folder).rglob("*.py"):
            if path != REPO / "simulator" / "settings.py" and re.search(r"os\.environ|os\.getenv", path.read_text()):
                readers.append(str(path.relative_to(REPO)))
    assert readers == []
