"""Where a benchmark's CPU goes: run one suite sweep point under py-spy and summarise the samples by thread and
by the engine's own functions. `python -m bench.profile coder 64` (needs py-spy: `pip install -e '.[bench]'`).

The summary is what docs/benchmarks.md quotes under "Where the time goes"; waiting (idle pool threads, the event
loop's select) and imports are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

IDLE = ("_worker ", "Condition.wait", "EpollSelector.select", "select ")
# The engine's parts, in the order a stack is searched (the first one found names the sample).
PARTS = [
    ("embedding (ONNX)", "SentenceEmbedder._embed_one"),
    ("coder heads and rules", "TurnReader.read_many"),
    ("coder heads and rules", "TurnReader.read"),
    ("appraisal", "_appraise"),
    ("HTTP client (openai + transport)", "AsyncAPIClient.post"),
    ("echo check", "prompt_index"),
    ("prompt building", "persona_messages"),
    ("simulated learner", "SimulatedLearner"),
    ("session engine (rest)", "Session."),
    ("suite runner (rest)", "SuiteRunner."),
]


def once(reader: str, concurrency: int) -> None:
    """One measured point of the throughput benchmark (after a warm-up), printing its ratio of ideal."""
    from . import throughput

    with throughput.MockServer() as url:
        asyncio.run(throughput.rapport_run(url, 2, 2, reader="rules"))
        seconds, calls = asyncio.run(throughput.rapport_run(url, concurrency, throughput.cases_for(concurrency),
                                                            reader=reader))
    print(f"{reader} c{concurrency}: {calls * throughput.LATENCY / concurrency / seconds:.2f} of ideal")


RATE = 200  # samples per second and thread


def summarise(raw: Path) -> str:
    threads: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if frames[-1].startswith(IDLE) or any("_find_and_load" in f for f in frames):
            continue
        n = int(count)
        total += n
        name = re.sub(r"[ (]\d+\)?|_\d+$", "", frames[0].removeprefix("thread ").split(": ")[-1])
        threads[name] += n
        parts[next((part for part, marker in PARTS if any(marker in f for f in frames)), "other")] += n
    lines = ["| Part | Busy thread-seconds | Share |", "|---|---|---|"]
    lines += [f"| {part} | {n / RATE:.1f} | {100 * n / total:.0f}% |" for part, n in parts.most_common()]
    lines += ["", "| Thread | Busy thread-seconds | Share |", "|---|---|---|"]
    lines += [f"| {thread} | {n / RATE:.1f} | {100 * n / total:.0f}% |" for thread, n in threads.most_common(4)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reader", choices=["coder", "rules"])
    parser.add_argument("concurrency", type=int)
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # the profiled child
    args = parser.parse_args(argv)
    if args.once:
        once(args.reader, args.concurrency)
        return
    with tempfile.TemporaryDirectory() as work:
        raw = Path(work) / "samples.txt"
        subprocess.run(["py-spy", "record", "--threads", "-r", str(RATE), "-f", "raw", "-o", str(raw), "--",
                        sys.executable, "-m", "bench.profile", args.reader, str(args.concurrency), "--once"],
                       check=True)
        print(summarise(raw))


if __name__ == "__main__":
    main()
