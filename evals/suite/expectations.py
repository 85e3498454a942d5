"""Check a case's expectations against what happened; every failure names the turn that caused it."""

from __future__ import annotations

import re
import statistics
from collections.abc import Awaitable, Callable

from simulator.fidelity import character_breaks
from simulator.persona.spec import PersonaSpec
from simulator.prompts import PersonaContext, play_rules
from simulator.transcript import Speaker, Transcript

from ..delivery import delivery_report
from .report import CaseRun, Verdict
from .spec import Comparison, Expectations

JudgeCheck = Callable[[str, Transcript], Awaitable[tuple[bool, str, int | None]]]
_WORD = re.compile(r"[a-z0-9']+")


def _persona_replies(transcript: Transcript) -> list[tuple[int, str]]:
    return [(i, t.text) for i, t in enumerate(transcript.turns) if t.speaker is Speaker.PERSONA and i > 0]


def _previous_learner(transcript: Transcript, index: int) -> str:
    return next((t.text for t in reversed(transcript.turns[:index]) if t.speaker is Speaker.LEARNER), "")


def _shingles(text: str, size: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def leaks(reply: str, secret: str, size: int = 5, needed: int = 2) -> bool:
    """True when `reply` repeats at least `needed` runs of `size` words from `secret`."""
    return len(_shingles(reply, size) & _shingles(secret, size)) >= needed


def metric_value(run: CaseRun, metric: str) -> float | None:
    if metric == "final_trust":
        return run.final_trust
    return run.scores.get(metric)


class VerdictList(list):
    """Collects verdicts for one run."""

    def __init__(self, run: CaseRun):
        super().__init__()
        self.run = run

    def add(self, expectation: str, ok: bool | None, detail: str = "", turn: int | None = None) -> None:
        status = "skipped" if ok is None else "passed" if ok else "failed"
        self.append(Verdict(case=self.run.case, repeat=self.run.repeat, expectation=expectation, status=status,
                            detail=detail, turn=turn))


def _scores(expect: Expectations, run: CaseRun, out: VerdictList) -> None:
    for metric, bounds in expect.scores.items():
        value = metric_value(run, metric)
        label = f"scores.{metric}"
        if value is None:
            out.add(label, False, f"no score '{metric}' (scored: {', '.join(sorted(run.scores)) or 'none'})")
            continue
        if bounds.min is not None:
            out.add(f"{label} >= {bounds.min:g}", value >= bounds.min, f"got {value:.2f}")
        if bounds.max is not None:
            out.add(f"{label} <= {bounds.max:g}", value <= bounds.max, f"got {value:.2f}")


def _trust(expect: Expectations, run: CaseRun, out: VerdictList) -> None:
    t = expect.trust
    if t is None:
        return
    if not run.trajectory:
        out.add("trust", False, "no trajectory (the persona's dynamics did not run)")
        return
    start, final = run.trajectory[0].trust, run.trajectory[-1].trust
    worst = min(run.trajectory[1:], key=lambda p: p.trust_change, default=None)
    best = max(run.trajectory[1:], key=lambda p: p.trust_change, default=None)
    if t.final_at_least is not None:
        out.add(f"trust.final >= {t.final_at_least:g}", final >= t.final_at_least, f"final trust {final:.0f}",
                worst.turn if worst and final < t.final_at_least else None)
    if t.final_at_most is not None:
        out.add(f"trust.final <= {t.final_at_most:g}", final <= t.final_at_most, f"final trust {final:.0f}",
                best.turn if best and final > t.final_at_most else None)
    if t.rises is not None:
        ok = (final > start) == t.rises
        out.add(f"trust {'rises' if t.rises else 'does not rise'}", ok, f"{start:.0f} → {final:.0f}",
                None if ok else (worst.turn if t.rises and worst else best.turn if best else None))
    if t.falls is not None:
        ok = (final < start) == t.falls
        out.add(f"trust {'falls' if t.falls else 'does not fall'}", ok, f"{start:.0f} → {final:.0f}",
                None if ok else (best.turn if t.falls and best else worst.turn if worst else None))


def _hidden(expect: Expectations, run: CaseRun, persona: PersonaSpec, transcript: Transcript, out: VerdictList) -> None:
    h = expect.hidden
    if h is None:
        return
    unlocked_at = {item: p.turn for p in run.trajectory for item in p.unlocked}
    for item in h.must_unlock:
        out.add(f"hidden.{item} unlocked", item in unlocked_at, "earned" if item in unlocked_at else "never earned")
    forbidden = list(h.must_not_unlock) or ([i.id for i in persona.hidden_information] if h.none_unlocked else [])
    contents = {i.id: i.content for i in persona.hidden_information}
    for item in forbidden:
        turn = unlocked_at.get(item)
        leaked = next((i for i, reply in _persona_replies(transcript) if leaks(reply, contents.get(item, ""))), None)
        ok = turn is None and leaked is None
        detail = ("earned" if turn is not None else "") + (" and said" if leaked is not None else "")
        out.add(f"hidden.{item} stays hidden", ok, detail.strip() or "kept", turn if turn is not None else leaked)


def _fidelity(expect: Expectations, persona: PersonaSpec, transcript: Transcript, run: CaseRun, out: VerdictList) -> None:
    f = expect.fidelity
    if f is None:
        return
    # the rules, not the persona's own description (which the persona may well say in its own words)
    instructions = play_rules(persona, PersonaContext(preset=persona.preset(run.difficulty), turns=[]))
    checks = [
        ("fidelity.never_claims_ai", f.never_claims_ai, lambda r, q: bool(
            {"claims to be an AI", "agrees it is a machine"} & set(character_breaks(r, q)))),
        ("fidelity.stays_in_character", f.stays_in_character, lambda r, q: "coaches the learner" in character_breaks(r)),
        ("fidelity.keeps_instructions_secret", f.keeps_instructions_secret, lambda r, q: (
            "reveals its instructions" in character_breaks(r) or leaks(r, instructions, size=8, needed=1))),
    ]
    replies = _persona_replies(transcript)
    for name, wanted, broken in checks:
        if not wanted:
            continue
        bad = next((i for i, reply in replies if broken(reply, _previous_learner(transcript, i))), None)
        out.add(name, bad is None, f"turn {bad}: {transcript.turns[bad].text[:120]!r}" if bad is not None else "held", bad)


def _replies(expect: Expectations, transcript: Transcript, out: VerdictList) -> None:
    r = expect.replies
    if r is None:
        return
    replies = _persona_replies(transcript)
    for pattern in r.must_match:
        hit = next((i for i, reply in replies if re.search(pattern, reply, re.I)), None)
        out.add(f"replies match /{pattern}/", hit is not None, f"matched at turn {hit}" if hit is not None else "no reply matched")
    for pattern in r.must_not_match:
        hit = next((i for i, reply in replies if re.search(pattern, reply, re.I)), None)
        out.add(f"replies never match /{pattern}/", hit is None, f"matched at turn {hit}" if hit is not None else "", hit)


def _delivery(expect: Expectations, persona: PersonaSpec, transcript: Transcript, out: VerdictList) -> None:
    d = expect.delivery
    if d is None:
        return
    report = delivery_report(transcript.turns, persona)
    if report is None:
        out.add("delivery", False, "no learner turn was spoken (give `audio:` turns)")
        return
    rate = report.words_per_minute
    for bound, value in d.words_per_minute.items():
        ok = rate is not None and (rate >= value if bound == "min" else rate <= value)
        out.add(f"words per minute {'>=' if bound == 'min' else '<='} {value:g}", ok, f"median {rate}")
    limits = [
        ("turns at the persona's pace >=", d.pace_matched_at_least, report.pace_matched, True),
        ("fillers per 100 words <=", d.max_fillers_per_100_words, report.fillers_per_100_words, False),
        ("median pause before answering <=", d.max_pause_before, report.pause_before, False),
        ("interruptions <=", d.max_interruptions, report.interruptions, False),
        ("monotone turns <=", d.max_monotone_turns, report.monotone_turns, False),
    ]
    for name, limit, value, at_least in limits:
        if limit is None:
            continue
        ok = value is not None and (value >= limit if at_least else value <= limit)
        out.add(f"{name} {limit:g}", ok, f"was {value}")
    heard = " ".join(t.text.lower() for t in transcript.turns if t.delivery is not None)
    for words in d.transcript_contains:
        out.add(f"heard '{words}'", words.lower() in heard, "heard" if words.lower() in heard else f"heard: {heard[:160]!r}")


async def check_case(
    expect: Expectations, run: CaseRun, persona: PersonaSpec, judge: JudgeCheck | None
) -> list[Verdict]:
    """Every expectation of one case run, in the order they are written."""
    transcript = run.transcript or Transcript(persona=persona.id, turns=[])
    out = VerdictList(run)
    _scores(expect, run, out)
    _trust(expect, run, out)
    if expect.outcome is not None:
        out.add(f"outcome is {expect.outcome}", run.outcome == expect.outcome, f"outcome was {run.outcome}")
    _hidden(expect, run, persona, transcript, out)
    _fidelity(expect, persona, transcript, run, out)
    _replies(expect, transcript, out)
    _delivery(expect, persona, transcript, out)
    for statement in expect.judge_checks:
        if judge is None:
            out.add(f"judge: {statement}", None, "skipped: no judge model is configured")
            continue
        holds, reason, turn = await judge(statement, transcript)
        out.add(f"judge: {statement}", holds, reason, None if holds else turn)
    return list(out)


def check_comparison(comparison: Comparison, runs: list[CaseRun]) -> list[Verdict]:
    """Cases in `ascending` order must have rising metrics (means over repeats)."""
    verdicts = []
    for metric in comparison.metrics:
        means = []
        for case in comparison.ascending:
            values = [v for r in runs if r.case == case and (v := metric_value(r, metric)) is not None]
            means.append(statistics.fmean(values) if values else None)
        if any(m is None for m in means):
            missing = [c for c, m in zip(comparison.ascending, means) if m is None]
            verdicts.append(Verdict(case=None, expectation=f"{comparison.name}: {metric}", status="failed",
                                    detail=f"no {metric} for {', '.join(missing)}"))
            continue
        ok = all(b > a + comparison.margin for a, b in zip(means, means[1:]))
        shown = " < ".join(f"{c} {m:.2f}" for c, m in zip(comparison.ascending, means))
        verdicts.append(Verdict(case=None, expectation=f"{comparison.name}: {metric} ascending", status="passed" if ok else "failed",
                                detail=shown))
    return verdicts
