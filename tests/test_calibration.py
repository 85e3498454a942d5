"""`rapport calibrate` on a small fixture corpus built here, in the same formats as ../shared/datasets."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

WARM = ["I'm so sorry, that sounds really hard.", "That must be exhausting for you.", "I can hear how much this hurts."]
COLD = ["Just get over it.", "Everyone has problems.", "You should go for a run."]
ASK = ["What has been the hardest part?", "How are you feeling about it now?", "What happened next?"]


def build_fixture(root: Path) -> None:
    epitome = root / "epitome_reddit"
    epitome.mkdir(parents=True)
    rows = []
    for i in range(120):
        warm = i % 2 == 0
        rows.append({"sp_id": f"s{i}", "rp_id": f"r{i}", "seeker_post": f"I lost my job {i} weeks ago and I feel awful.",
                     "response_post": (WARM if warm else COLD)[i % 3] + (" " + ASK[i % 3] if i % 4 == 0 else ""),
                     "levels": (2 if warm else 0, 2 if warm else 0, 2 if i % 4 == 0 else 0)})
    for index, name in enumerate(["emotional-reactions-reddit.csv", "interpretations-reddit.csv", "explorations-reddit.csv"]):
        with open(epitome / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, ["sp_id", "rp_id", "seeker_post", "response_post", "level", "rationales"])
            writer.writeheader()
            for row in rows:
                writer.writerow({"sp_id": row["sp_id"], "rp_id": row["rp_id"], "seeker_post": row["seeker_post"],
                                 "response_post": row["response_post"], "level": row["levels"][index], "rationales": ""})
    esconv = root / "esconv"
    esconv.mkdir()
    def dialog(n: int, warm: bool) -> list[dict]:
        turns = []
        for k in range(4):
            turns.append({"speaker": "usr", "text": f"Conversation {n}: I am struggling with exams, part {k}."})
            turns.append({"speaker": "sys", "text": (WARM if warm else COLD)[k % 3], "strategy": "Others"})
        return turns
    records = [{"situation": f"exam stress {n}", "dialog": dialog(n, True),
                "survey_score": {"seeker": {"empathy": str(4 + n % 2)}}} for n in range(60)]
    (esconv / "train.json").write_text("\n".join(json.dumps(r) for r in records[:40]) + "\n")
    (esconv / "valid.json").write_text("\n".join(json.dumps(r) for r in records[40:50]) + "\n")
    (esconv / "test.json").write_text("\n".join(json.dumps(r) for r in records[50:]) + "\n")
    failed = [{"situation": f"bad {n}", "survey_score": {"seeker": {"empathy": "1"}},
               "dialog": [{"speaker": "speaker" if t["speaker"] == "usr" else "listener", "content": t["text"],
                           "annotation": {"strategy": "Other"} if t["speaker"] == "sys" else {}}
                          for t in dialog(100 + n, False)]} for n in range(12)]
    (esconv / "FailedESConv.json").write_text(json.dumps(failed))
    pair = root / "pair_reflections"
    pair.mkdir()
    with open(pair / "pair_data.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prompt", "hq1", "hq2", "mq1", "lq1", "lq2", "lq3", "lq4", "lq5"])
        for i in range(60):
            writer.writerow([f"I smoke {i} cigarettes a day and I know I should stop, but it calms me down.",
                             "It sounds like smoking is how you cope with stress, even though part of you wants to stop.",
                             "You feel torn: it calms you, and it worries you.", "You smoke to calm down.",
                             "You need to quit now.", "Have you tried patches?", "Why don't you just stop?",
                             "Smoking kills.", "How many a day?"])
    ncte = root / "uptake_ncte"
    ncte.mkdir()
    with open(ncte / "uptake_data.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["obs_id", "exchange_idx", "student_text", "teacher_text", "uptake", "uptake_zscore"])
        for i in range(150):
            high = i % 2 == 0
            teacher = (f"So you split the {i} into two halves? Tell us why you did that." if high else "Okay. Next question.")
            writer.writerow([i // 3, i, f"I split the {i} into two halves and added them.", teacher,
                             "2.0" if high else "0.0", "1.0" if high else "-1.0"])


def build_transfer_fixture(root: Path) -> None:
    """Small TalkMoves and DailyDialog files: the corpora no head is trained on (transfer checks)."""
    talkmoves = root / "talkmoves"
    talkmoves.mkdir()
    with open(talkmoves / "talkmoves_sentences.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["transcript_id", "row", "timestamp", "turn", "speaker", "role", "sentence", "teacher_tag",
                         "teacher_code", "student_tag", "student_code"])
        for i in range(80):
            student = f"I think it is {i} because the halves are equal."
            teacher, code = [(f"It is {i} because the halves are equal.", 4), ("Why do you think that?", 9),
                             ("What is three times four?", 8), ("Okay, next one.", 1)][i % 4]
            writer.writerow([i // 2, 2 * i, "", i, "S", "S", student, "4 - making a claim", 4, "", ""])
            writer.writerow([i // 2, 2 * i + 1, "", i, "T", "T", teacher, f"{code} - x", code, "", ""])
    dailydialog = root / "dailydialog"
    dailydialog.mkdir()
    with open(dailydialog / "dailydialog_utterances.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["split", "dialogue_idx", "topic", "utt_idx", "text", "act", "emotion"])
        for d in range(40):
            turns = [(f"I had a long day at work number {d}.", 1), ("What happened at work?", 2),
                     ("My boss shouted at me.", 1), ("You should talk to HR about it.", 3)]
            for k, (text, act) in enumerate(turns):
                writer.writerow(["train", d, 8, k, text, act, 0])


def calibrate(tmp_path: Path, *, transfer: bool) -> tuple[subprocess.CompletedProcess, dict, Path]:
    """`rapport calibrate` on the fixture corpora (with the transfer corpora when asked): result, report, docs dir."""
    data = tmp_path / "datasets"
    build_fixture(data)
    if transfer:
        build_transfer_fixture(data)
    out = tmp_path / "docs"
    result = subprocess.run([sys.executable, "-m", "rapport.cli", "calibrate", "--data", str(data), "--out", str(out)],
                            capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert result.returncode == 0, result.stderr
    return result, json.loads((out / "calibration.json").read_text()), out


def test_calibrate_reports_transfer_to_corpora_no_head_was_trained_on(tmp_path):
    _, report, out = calibrate(tmp_path, transfer=True)
    transfer = report["transfer"]
    assert transfer["questions_dailydialog"]["question_f1"] > 0.9  # every question here ends with "?"
    assert transfer["questions_talkmoves"]["open_vs_closed_accuracy"] == 1.0  # "Why...?" open, "What is 3x4?" closed
    assert transfer["uptake_talkmoves"]["auroc_uptake_takes_up"] > 0.5  # restating takes up the student's words
    assert report["coder"]["reflection_by_corpus"]["talkmoves"]["recall"] > 0.5
    markdown = (out / "calibration.md").read_text()
    assert "leave-one-corpus-out" in markdown and "DailyDialog: F1 of 'asks a question'" in markdown


def test_calibrate_command_on_a_fixture(tmp_path):
    result, report, out = calibrate(tmp_path, transfer=False)
    epitome = report["coder"]["epitome"]
    assert epitome["n"] > 5 and 0 <= epitome["er"]["accuracy"] <= 1
    assert report["coder"]["pair"]["hq_over_lq"] > 0.5  # clear reflections beat advice and questions
    assert report["coder"]["uptake_ncte"]["spearman_uptake_mean"] > 0
    offline = report["offline_scorecard"]
    assert offline["conversations"]["failed"] == 12
    assert offline["auroc_overall_vs_failed"] > 0.5  # warm conversations score above cold ones
    markdown = (out / "calibration.md").read_text()
    assert "EPITOME emotional reactions: accuracy" in markdown and "RoBERTa 79.0%" in markdown
    assert markdown.strip() in result.stdout


def test_calibrate_measures_the_judge_when_one_is_configured(tmp_path, openai_server):
    from evals.rubric import load_rubric

    rubric = load_rubric()

    def judge(body: dict) -> str:
        """A stand-in judge that scores warm replies higher (it reads the transcript it is sent)."""
        text = body["messages"][-1]["content"].split("<transcript>")[1].split("</transcript>")[0]
        warm = any(word in text for word in ("sorry", "exhausting", "hurts"))
        score = 4 if warm else 2
        return json.dumps({**{c.id: {"score": score, "rationale": "r", "evidence": []} for c in rubric.criteria},
                           "strengths": [], "improvements": [], "summary": "s"})

    openai_server.responder = judge
    data = tmp_path / "datasets"
    build_fixture(data)
    env = {**os.environ, "RAPPORT_JUDGE_MODEL": f"openai:judge@{openai_server.base_url}"}
    result = subprocess.run([sys.executable, "-m", "rapport.cli", "calibrate", "--data", str(data), "--out",
                             str(tmp_path / "docs"), "--judge-sample", "8"], capture_output=True, text=True, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    judge_report = json.loads((tmp_path / "docs" / "calibration.json").read_text())["judge"]
    assert judge_report["epitome_sample"] == 8 and judge_report["spearman_empathy_vs_epitome_total"] > 0.5
    assert judge_report["auroc_overall_vs_failed"] == 1.0
    assert "Spearman of judged empathy" in (tmp_path / "docs" / "calibration.md").read_text()
