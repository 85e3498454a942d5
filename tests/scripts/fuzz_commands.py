"""Property-based fuzzing of every `rapport` command that reads a file, in one process (run by
tests/test_fuzz_commands.py, or by hand: `python tests/scripts/fuzz_commands.py --examples 200`).

Each example writes one hostile input (random text or bytes, a valid file cut short, deep nesting, an alias
bomb, a random JSON/YAML structure, a file over the size limit) where a command reads it, runs the command
in-process as a user would (`rapport ...`), and checks the contract: exit 0 or 2, every `error:` line names
the input, no traceback, within a time bound. The process's peak memory is reported for the caller to bound.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
SECONDS_PER_EXAMPLE = 20  # the slowest honest case is a valid suite that runs (fake models) or a full card import

# name -> (argv with {file}/{dir} placeholders, where the input goes relative to the work folder, valid samples)
COMMANDS: dict[str, tuple[list[str], str, list[Path]]] = {
    "personas validate": (["personas", "validate", "{file}"], "input.yaml", [REPO / "personas" / "procurement-skeptic.yaml"]),
    "personas show": (["personas", "show", "fuzzed"], "personas/fuzzed.yaml", [REPO / "personas" / "disengaged-student.yaml"]),
    "personas import": (["personas", "import", "{file}"], "card.json", []),
    "eval": (["eval", "{file}", "--out", "{dir}/run", "--concurrency", "1"], "suite.yaml", [REPO / "evals" / "suites" / "smoke.yaml"]),
    "judge": (["judge", "{file}", "--offline"], "transcript.json", [REPO / "evals" / "suites" / "gaming" / "ben-genuine.json"]),
    "sessions import": (["sessions", "import", "{file}"], "session.json", []),
    "calibrate --data": (["calibrate", "--data", "{dir}/data", "--out", "{dir}/out"], "data/esconv/FailedESConv.json", []),
}


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def nested(opener: str, depth: int) -> str:
    closer = {"[": "]", "{": "}", '{"a": ': "}", "{a: ": "}"}.get(opener, "")
    return opener * depth + "1" + closer * (depth // 2)  # half-closed: also truncated


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["id", "name", "persona", "turns", "speaker", "text", "session", "persona_spec", "format",
                         "dialog", "content", "cases", "learner", "data", "spec", "x"]) | st.text(max_size=8),
        children, max_size=6),
    max_leaves=30,
)


@st.composite
def hostile(draw, samples: list[Path]) -> tuple[str, bytes | int]:
    """(kind, content); content is the bytes to write, or an int size for a sparse file over every limit."""
    kinds = ["text", "bytes", "nested", "alias", "structure", "oversized"] + (["truncated", "mutated"] if samples else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "text":
        return kind, draw(st.text(max_size=400)).encode("utf-8", "surrogatepass")
    if kind == "bytes":
        return kind, draw(st.binary(max_size=400))
    if kind == "nested":
        return kind, nested(draw(st.sampled_from(["[", "{", '{"a": ', "{a: ", "- "])), draw(st.integers(65, 200_000))).encode()
    if kind == "alias":
        return kind, alias_bomb(draw(st.integers(4, 12))).encode()
    if kind == "structure":
        value = draw(json_values)
        return kind, json.dumps(value).encode()
    if kind == "oversized":
        return kind, draw(st.sampled_from([6, 30, 80])) * 1024 * 1024
    original = draw(st.sampled_from(samples)).read_bytes()
    if kind == "truncated":
        return kind, original[: draw(st.integers(0, len(original)))]
    at = draw(st.integers(0, len(original)))
    junk = draw(st.sampled_from([b"[", b"{", b"&x *x", b": : :", b"\x00", b"\xff", b"*undefined", b"!!python/object:os.system"]))
    return kind, original[:at] + junk + original[at:]


def write_samples(folder: Path) -> None:
    """Valid inputs made by Rapport itself, for the commands with no valid file in the repository to damage."""
    from simulator.persona import load_persona
    from simulator.persona.cards import export_card

    folder.mkdir(parents=True)
    spec = load_persona(REPO / "personas" / "upset-parent.yaml")
    for name, png in (("card.json", False), ("card.png", True)):
        (folder / name).write_bytes(export_card(spec, "ccv3", png=png))
        COMMANDS["personas import"][2].append(folder / name)

    from simulator.models import ScriptedChatModel
    from simulator.session import Session
    from simulator.store import SessionStore

    store = SessionStore(f"sqlite:///{folder / 'sample.db'}")
    session = Session(spec, ScriptedChatModel(respond=lambda messages: "Go on, then."))
    store.record(session, "local")
    for line in ("I'm sorry it took nine days to reply.", "How has Yasmin been at home?"):
        list(session.send_sync(line))
    store.save_scorecard(session.id, "offline", {"overall": 3.0, "criteria": {}}, learner_id="local")
    sample = folder / "session.json"
    sample.write_text(store.export(session.id, learner_id="local").model_dump_json(indent=2), encoding="utf-8")
    COMMANDS["sessions import"][2].append(sample)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """`rapport ARGS` in this process: exit code, stdout, stderr."""
    from rapport.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    sys.argv = ["rapport", *args]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def check(command: str, example: tuple[str, bytes | int], work: Path) -> None:
    argv, target, _ = COMMANDS[command]
    path = work / target
    path.parent.mkdir(parents=True, exist_ok=True)
    kind, content = example
    if isinstance(content, int):
        with path.open("wb") as handle:
            handle.seek(content)
            handle.write(b"\n")
    else:
        path.write_bytes(content)
    args = [a.replace("{file}", str(path)).replace("{dir}", str(work)) for a in argv]
    if command == "personas show":  # a damaged file that is still a valid persona is shown by its own id
        from simulator.errors import DataFileError
        from simulator.persona import load_persona

        with contextlib.suppress(DataFileError):
            args[-1] = load_persona(path).id
    signal.alarm(SECONDS_PER_EXAMPLE)  # a hang fails loudly instead of stalling the suite
    started = time.perf_counter()
    try:
        code, out, err = run_cli(args)
    finally:
        signal.alarm(0)
    took = time.perf_counter() - started
    said = f"{command} on {kind} input: exit {code} in {took:.1f}s\nstdout: {out[-600:]}\nstderr: {err[-600:]}"
    assert code in (0, 2), said
    assert "Traceback" not in out + err, said
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    if code == 2:
        named = str(path) if command != "calibrate --data" else str(work / "data")
        problems = errors or [line for line in out.splitlines() if line.strip()]
        assert problems and all(named in line or line.startswith(named) for line in problems), said


def on_alarm(signum, frame):  # noqa: ARG001
    raise TimeoutError(f"one command took over {SECONDS_PER_EXAMPLE}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=25, help="examples per command")
    parser.add_argument("--command", action="append", help="only these commands (default: all)")
    options = parser.parse_args()
    signal.signal(signal.SIGALRM, on_alarm)
    home = Path(tempfile.mkdtemp(prefix="rapport-fuzz-"))
    os.environ.update({
        "RAPPORT_HOME": str(home / "home"), "RAPPORT_PERSONAS": str(home / "work" / "personas"),
        "RAPPORT_DATABASE_URL": f"sqlite:///{home / 'sessions.db'}", "RAPPORT_PERSONA_MODEL": "fake",
        "RAPPORT_LEARNER_MODEL": "fake", "RAPPORT_CHROMA_PATH": str(home / "chroma"), "COLUMNS": "200",
    })
    os.environ.pop("RAPPORT_JUDGE_MODEL", None)
    os.environ.pop("OPENAI_API_KEY", None)
    write_samples(home / "samples")
    timings: dict[str, float] = {}
    for command in options.command or list(COMMANDS):
        samples = COMMANDS[command][2]
        fuzz = settings(max_examples=options.examples, deadline=None, derandomize=True, database=None,
                        suppress_health_check=list(HealthCheck), print_blob=True)

        @fuzz
        @given(hostile(samples))
        def run(example: tuple[str, bytes | int]) -> None:
            with tempfile.TemporaryDirectory(dir=home) as folder:
                work = Path(folder)
                (work / "personas").mkdir()
                os.environ["RAPPORT_PERSONAS"] = str(work / "personas")
                os.environ["RAPPORT_HOME"] = str(work / "home")  # each example starts with no imported personas
                os.environ["RAPPORT_DATABASE_URL"] = f"sqlite:///{work / 'sessions.db'}"  # ... and no sessions
                check(command, example, work)  # noqa: B023 - run() is called before the loop moves on

        started = time.perf_counter()
        run()
        timings[command] = round(time.perf_counter() - started, 1)
    # VmHWM: this process's own peak (ru_maxrss would include the parent it was forked from)
    peak_mb = int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM"))) / 1024
    print(json.dumps({"seconds": timings, "peak_rss_mb": round(peak_mb), "examples": options.examples}))


if __name__ == "__main__":
    main()
