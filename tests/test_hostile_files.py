"""Hostile files (issue 14, items 2 and 3): alias bombs, deep nesting, huge values. Each is refused before it is
expanded, with one line naming the file, in bounded time and memory; in the CLI, in the studio and in every loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulator.data_files import MAX_DEPTH, load_json, load_yaml, read_json_file, read_toml_file, read_yaml_file
from simulator.errors import DataFileError
from simulator.persona.loader import persona_from_text

REPO = Path(__file__).resolve().parent.parent
FUZZ_WORKER = REPO / "tests" / "scripts" / "fuzz_commands.py"


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs" in YAML: 9 ** levels values from a few hundred bytes."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


BOMBS = {
    "alias.yaml": alias_bomb(),
    "deep-sequence.yaml": "[" * 200_000,
    "deep-mapping.yaml": "{a: " * 5_000 + "1" + "}" * 5_000 + "\n",
    "deep-block.yaml": "".join("  " * i + f"k{i}:\n" for i in range(300)) + "  " * 300 + "v\n",
    "self-alias.yaml": "a: &a [*a]\n",
}


def measured_rapport(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, float, float]:
    """`rapport ARGS` in a fresh process: the result, its wall time in seconds and its peak memory in MB."""
    # VmHWM is this process's own peak (ru_maxrss would also count the pytest process it was forked from)
    code = ("import sys\nfrom rapport.cli import main\nsys.argv = ['rapport', *sys.argv[1:]]\n"
            "try:\n    main()\nfinally:\n"
            "    kb = next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
            "    print(f'peak-mb {int(kb) / 1024:.0f}', file=sys.stderr)\n")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **(env or {})})
    took = time.perf_counter() - started
    peak = float(result.stderr.rsplit("peak-mb ", 1)[1].split()[0]) if "peak-mb " in result.stderr else float("inf")
    return result, took, peak


@pytest.mark.parametrize("name", list(BOMBS))
def test_bombs_are_refused_by_personas_validate_in_bounded_time_and_memory(tmp_path, name):
    path = tmp_path / name
    path.write_text(BOMBS[name], encoding="utf-8")
    result, took, peak = measured_rapport("personas", "validate", str(path))
    assert result.returncode == 2, result.stderr  # before: killed by SIGSEGV, RecursionError, or unbounded growth
    problems = result.stdout.strip().splitlines()
    assert len(problems) == 1 and problems[0].startswith(f"{path}:") and "Traceback" not in result.stderr
    assert took < 30 and peak < 400, (took, peak)


def test_a_bomb_in_the_persona_folder_does_not_stop_personas_list(tmp_path):
    folder = tmp_path / "personas"
    folder.mkdir()
    (folder / "nested.yaml").write_text("[" * 200_000, encoding="utf-8")
    (folder / "alias.yaml").write_text(alias_bomb(), encoding="utf-8")
    result, took, peak = measured_rapport("personas", "list", env={"RAPPORT_PERSONAS": str(folder)})
    assert result.returncode == 0, result.stderr
    assert "procurement-skeptic" in result.stdout and "nested more than" in result.stderr
    assert took < 30 and peak < 400


@pytest.mark.parametrize("command", [["judge", "{}", "--offline"], ["sessions", "import", "{}"]])
def test_deep_json_is_refused_by_the_commands_that_read_json(tmp_path, command):
    path = tmp_path / "deep.json"
    path.write_text('{"turns": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    args = [part.replace("{}", str(path)) for part in command]
    result, took, _ = measured_rapport(*args, env={"RAPPORT_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"})
    assert result.returncode == 2 and f"{path}:1: <json>: nested more than {MAX_DEPTH} levels deep" in result.stderr
    assert "Traceback" not in result.stderr and took < 30


def test_the_studio_check_refuses_an_alias_bomb_at_once():
    started = time.perf_counter()
    spec, problems = persona_from_text(alias_bomb(12))  # 9 ** 12 values if expanded
    assert spec is None and len(problems) == 1 and "expands to more than" in problems[0].message
    assert time.perf_counter() - started < 2


def test_limits_hold_for_every_format(tmp_path):
    with pytest.raises(DataFileError, match="alias \\*a refers to no complete anchor"):
        load_yaml("a: &a [*a]\n", "self.yaml")  # a recursive structure would loop forever downstream
    with pytest.raises(DataFileError, match="a value cannot be read"):
        load_yaml("n: " + "9" * 5000 + "\n", "int.yaml")
    with pytest.raises(DataFileError, match="NaN is not a JSON value"):
        load_json('{"x": NaN}', "nan.json")
    with pytest.raises(DataFileError, match="nested more than"):
        load_json("[" * 65 + "]" * 65, "deep.json")
    assert load_json('["[[[[", "\\"{{{{"]', "strings.json") == ["[[[[", '"{{{{']  # brackets in strings are text
    toml = tmp_path / "rapport.toml"
    toml.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=f"{toml}: <toml>: invalid TOML"):
        read_toml_file(toml)
    sparse = tmp_path / "big.json"
    with sparse.open("wb") as handle:
        handle.seek(6 * 1024 * 1024)
        handle.write(b"}")
    with pytest.raises(DataFileError, match="the limit is"):
        read_json_file(sparse)


def test_ordinary_yaml_that_libyaml_refuses_still_loads(tmp_path):
    """The pre-check uses libyaml for speed but must not refuse what the YAML 1.2 loader accepts."""
    path = tmp_path / "suite.yaml"
    path.write_text("learner: {script: [What went wrong with Veritrack?]}\nshared: &s {a: 1}\nagain: *s\n")
    assert read_yaml_file(path, round_trip=False) == {
        "learner": {"script": ["What went wrong with Veritrack?"]}, "shared": {"a": 1}, "again": {"a": 1}}


def test_every_bundled_data_file_is_within_the_limits():
    files = [*REPO.glob("personas/*.yaml"), *REPO.glob("evals/**/*.yaml"), *REPO.glob("simulator/data/**/*.yaml")]
    for path in files:
        read_yaml_file(path)
    for path in [*REPO.glob("evals/suites/**/*.json"), *REPO.glob("personas/*.json")]:
        read_json_file(path)
    assert len(files) > 20


def test_fuzzed_inputs_to_every_file_reading_command(tmp_path):
    """hypothesis drives `personas validate|import|show`, `eval`, `judge`, `sessions import` and `calibrate --data`
    with random, truncated, nested, alias-bomb, mistyped and oversized inputs: exit 0 or 2, one line naming the
    file per problem, no traceback, each run within the worker's time bound, and bounded memory overall."""
    result = subprocess.run([sys.executable, str(FUZZ_WORKER), "--examples", "40"], capture_output=True, text=True,
                            timeout=900, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(summary["seconds"]) == {"personas validate", "personas show", "personas import", "eval", "judge",
                                       "sessions import", "calibrate --data"}
    assert summary["peak_rss_mb"] < 1200, summary


def test_a_png_full_of_compressed_text_chunks_is_not_inflated(tmp_path):
    """A zTXt decompression bomb: many small chunks that each inflate to megabytes; only card chunks are read."""
    import zlib

    import struct

    from simulator.persona import load_persona
    from simulator.persona.cards import export_card, read_card

    png = export_card(load_persona(REPO / "personas" / "upset-parent.yaml"), "ccv2", png=True)
    bomb_text = zlib.compress(b"A" * (60 * 1024 * 1024), 9)  # about 60 KB, inflating to 60 MB

    def with_ztxt(keywords: list[bytes]) -> bytes:
        chunks = b""
        for keyword in keywords:
            body = b"zTXt" + keyword + b"\0\0" + bomb_text
            chunks += struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        return png[:33] + chunks + png[33:]  # after the signature and IHDR

    path = tmp_path / "bomb.png"
    path.write_bytes(with_ztxt([f"junk{i}".encode() for i in range(40)]))  # 2.4 GB if every chunk were inflated
    started = time.perf_counter()
    assert read_card(path)["spec"] == "chara_card_v2"  # the real card still reads
    assert time.perf_counter() - started < 5
    path.write_bytes(with_ztxt([b"ccv3", b"ccv3", b"chara"]))
    with pytest.raises(DataFileError):
        read_card(path)


def test_a_deeply_nested_card_is_refused_like_any_json_file(tmp_path):
    from simulator.persona.cards import read_card

    path = tmp_path / "deep.json"
    path.write_text('{"spec": "chara_card_v2", "data": ' + "[" * 500 + "]" * 500 + "}", encoding="utf-8")
    with pytest.raises(DataFileError, match="nested more than") as caught:
        read_card(path)  # before: a RecursionError escaped the studio's import
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_the_studio_editor_takes_a_persona_sized_text_not_megabytes():
    from rapport.ui.studio import MAX_EDITOR_CHARS, validation_report

    huge = (REPO / "personas" / "upset-parent.yaml").read_text() + "".join(f"x{i}: {i}\n" for i in range(40_000))
    started = time.perf_counter()
    report, card = validation_report(huge)
    assert len(huge) > MAX_EDITOR_CHARS and card == "" and "the limit is" in report
    assert time.perf_counter() - started < 2  # before: about 19 s of CPU per keystroke for 1 MB
