"""Calibration: how far the coder, the offline scorecard (and the judge, when configured) agree with humans.

Everything is measured on the splits held out from training (`simulator.coder.splits`), from the
human-annotated corpora in `../shared/datasets` (read in place, never copied).
"""

from __future__ import annotations

import asyncio
import json
import platform
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.coder import datasets, load_coder
from simulator.coder.agreement import auroc, spearman
from simulator.coder.heldout import evaluate_heldout
from simulator.coder.splits import is_heldout
from simulator.signals import TurnReader
from simulator.transcript import Speaker, Transcript, Turn

from .offline import offline_scorecard
from .rubric import load_rubric

EPITOME_BAR = {"er": 0.79, "ip": 0.84, "ex": 0.93}  # the EPITOME paper's fine-tuned RoBERTa (accuracy)


class PrimedCoder:
    """A coder whose answers for known (context, response) pairs were computed in one fast batch."""

    def __init__(self, coder, pairs: list[tuple[str, str]]):
        self.coder = coder
        unique = list(dict.fromkeys(pairs))
        self.cache = dict(zip(unique, coder.code_batch(unique)))

    def code(self, context: str, response: str):
        return self.cache.get((context, response)) or self.coder.code(context, response)


def support_transcript(conversation: datasets.SupportConversation) -> Transcript:
    """An ESConv dialogue as a transcript: the seeker plays the persona, the supporter the learner."""
    turns: list[Turn] = []
    last_context = None
    for turn in conversation.turns:
        if turn.context and turn.context != last_context:
            turns.append(Turn(speaker=Speaker.PERSONA, text=turn.context, at=None))
            last_context = turn.context
        turns.append(Turn(speaker=Speaker.LEARNER, text=turn.response, at=None))
    return Transcript(persona=None, turns=turns)


def offline_scorecard_agreement(data_dir: Path, coder, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """AUROC of the offline overall score, ESConv (held out) vs FailedESConv; Spearman with seeker empathy."""
    good = [c for c in datasets.read_esconv(data_dir) if is_heldout("esconv", c.conversation_id) and c.turns]
    failed = [c for c in datasets.read_failed_esconv(data_dir) if c.turns]
    conversations = good + failed
    progress(f"offline scorecard: coding {sum(len(c.turns) for c in conversations)} supporter turns")
    primed = PrimedCoder(coder, [(t.context, t.response) for c in conversations for t in c.turns])
    reader = TurnReader(coder=primed)
    rubric = load_rubric("default")
    overall, empathy, positive, rated = [], [], [], []
    for conversation in conversations:
        card = offline_scorecard(support_transcript(conversation), rubric, None, reader)
        overall.append(card.overall)
        empathy.append(card.criteria["empathy"].score)
        positive.append(conversation.source == "esconv")
        if conversation.seeker_empathy is not None:
            rated.append((card.criteria["empathy"].score, conversation.seeker_empathy))
    return {
        "conversations": {"esconv_heldout": len(good), "failed": len(failed)},
        "auroc_overall_vs_failed": auroc(overall, positive),
        "auroc_empathy_vs_failed": auroc(empathy, positive),
        "spearman_empathy_vs_seeker_rating": spearman([a for a, _ in rated], [b for _, b in rated]) if rated else None,
        "n_rated": len(rated),
    }


def judge_agreement(data_dir: Path, sample: int, seed: int = 7) -> dict[str, Any] | None:
    """The judge on a sample: Spearman of its empathy score with EPITOME's (ER+IP+EX), and ESConv AUROC."""
    from .grading import Grader

    grader = Grader()
    if grader.judge_model is None:
        return None
    rng = random.Random(seed)
    pairs = [e for e in datasets.read_epitome(data_dir) if is_heldout("epitome", e.sp_id)]
    pairs = rng.sample(pairs, min(sample, len(pairs)))
    good = [c for c in datasets.read_esconv(data_dir) if is_heldout("esconv", c.conversation_id) and c.turns]
    failed = [c for c in datasets.read_failed_esconv(data_dir) if c.turns]
    half = max(1, sample // 2)
    dialogues = rng.sample(good, min(half, len(good))) + rng.sample(failed, min(half, len(failed)))

    async def run() -> tuple[list[float], list[float]]:
        empathy = []
        for pair in pairs:
            transcript = Transcript(persona=None, turns=[Turn(speaker=Speaker.PERSONA, text=pair.seeker, at=None),
                                                         Turn(speaker=Speaker.LEARNER, text=pair.response, at=None)])
            empathy.append((await grader.grade(transcript)).scorecard.criteria["empathy"].score)
        overall = [(await grader.grade(support_transcript(c))).scorecard.overall for c in dialogues]
        return empathy, overall

    empathy, overall = asyncio.run(run())
    return {
        "model": grader.judge_spec.label,
        "epitome_sample": len(pairs),
        "spearman_empathy_vs_epitome_total": spearman(empathy, [p.er + p.ip + p.ex for p in pairs]),
        "esconv_sample": len(dialogues),
        "auroc_overall_vs_failed": auroc(overall, [c.source == "esconv" for c in dialogues]),
    }


def run_calibration(data_dir: Path, judge_sample: int = 0, progress: Callable[[str], None] = print) -> dict[str, Any]:
    coder = load_coder()
    progress("coder: held-out agreement")
    report: dict[str, Any] = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": str(data_dir),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "coder": evaluate_heldout(coder, data_dir),
    }
    report["offline_scorecard"] = offline_scorecard_agreement(data_dir, coder, progress)
    if judge_sample:
        progress(f"judge: {judge_sample} samples")
        report["judge"] = judge_agreement(data_dir, judge_sample)
    return report


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def calibration_markdown(report: dict[str, Any]) -> str:
    """The report as the Markdown of docs/calibration.md."""
    c = report["coder"]
    e, u, p, s = c["epitome"], c["uptake_ncte"], c["pair"], c["esconv"]
    o = report["offline_scorecard"]
    rows = [
        "# Calibration: agreement with human labels",
        "",
        f"Generated {report['generated']} by `rapport calibrate` on {report['machine']}. All figures are on data held",
        "out from training (20%, split by a hash of the group id: EPITOME by seeker post, ESConv by conversation,",
        "PAIR by prompt, NCTE by transcript). Regenerate with `rapport calibrate`.",
        "",
        "## The offline behavioural coder",
        "",
        "| What | Ours | Bar / baseline |",
        "|---|---|---|",
    ]
    for key, name in (("er", "emotional reactions"), ("ip", "interpretations"), ("ex", "explorations")):
        rows.append(f"| EPITOME {name}: accuracy (n={e['n']}) | {_pct(e[key]['accuracy'])} | RoBERTa {_pct(EPITOME_BAR[key])}; "
                    f"majority class {_pct(e[key]['majority_baseline_accuracy'])} |")
        rows.append(f"| EPITOME {name}: macro-F1 | {_num(e[key]['macro_f1'])} | |")
    rows += [
        f"| NCTE uptake: Spearman with the raters' mean (n={u['n']}) | {_num(u['spearman_uptake_mean'])} | |",
        f"| NCTE uptake: Spearman with the z-scored rating | {_num(u['spearman_uptake_zscore'])} | |",
        f"| PAIR: high-quality reflection ranked above low-quality (n={p['n_prompts']} prompts) | {_pct(p['hq_over_lq'])} | chance 50% |",
        f"| PAIR: high-quality ranked above medium | {_pct(p['hq_over_mq'])} | chance 50% |",
        f"| ESConv vs FailedESConv: AUROC of mean turn empathy ({s['conversations']['esconv_heldout']} vs {s['conversations']['failed']}) "
        f"| {_num(s['auroc_vs_failed']['empathy'])} | chance 0.5 |",
        "",
        "## The offline scorecard",
        "",
        "| What | Ours | Chance |",
        "|---|---|---|",
        f"| ESConv vs FailedESConv: AUROC of the overall score ({o['conversations']['esconv_heldout']} vs {o['conversations']['failed']}) "
        f"| {_num(o['auroc_overall_vs_failed'])} | 0.5 |",
        f"| ESConv vs FailedESConv: AUROC of the empathy criterion | {_num(o['auroc_empathy_vs_failed'])} | 0.5 |",
        f"| Spearman of the empathy criterion with the seeker's own empathy rating (n={o['n_rated']}) "
        f"| {_num(o['spearman_empathy_vs_seeker_rating'])} | 0 |",
    ]
    judge = report.get("judge")
    rows += ["", "## The judge model", ""]
    if judge:
        rows += [
            f"Model: `{judge['model']}`.",
            "",
            "| What | Ours |",
            "|---|---|",
            f"| Spearman of judged empathy with EPITOME ER+IP+EX (n={judge['epitome_sample']}) | {_num(judge['spearman_empathy_vs_epitome_total'])} |",
            f"| ESConv vs FailedESConv AUROC of the judged overall score (n={judge['esconv_sample']}) | {_num(judge['auroc_overall_vs_failed'])} |",
        ]
    else:
        rows.append("No judge model was configured for this run (set `RAPPORT_JUDGE_MODEL` and pass `--judge-sample N`).")
    return "\n".join(rows) + "\n"


def write_calibration(report: dict[str, Any], docs: Path) -> tuple[Path, Path]:
    docs.mkdir(parents=True, exist_ok=True)
    json_path, md_path = docs / "calibration.json", docs / "calibration.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(calibration_markdown(report), encoding="utf-8")
    return json_path, md_path
