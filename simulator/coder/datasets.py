"""Readers for the human-annotated corpora the coder is trained and checked on.

The corpora live outside the repo (`../shared/datasets/`, see its README and SOURCE.md files);
they are read, never copied. Each record carries the group id that `splits` uses.
"""

from __future__ import annotations

import csv
import functools
import io
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from ..data_files import load_json, read_text
from ..errors import DataFileError

MAX_CORPUS_FILE_BYTES = 64 * 1024 * 1024  # the largest shipped corpus file is about 20 MB
R = TypeVar("R")


def _open(path: Path) -> IO[str]:
    """A corpus file as text, through the bounded reader (missing, binary or oversized files are one line)."""
    return io.StringIO(read_text(path, MAX_CORPUS_FILE_BYTES), newline="")  # newline="": csv sees line ends as written


def _corpus(folder: str) -> Callable[[Callable[[Path], R]], Callable[[Path], R]]:
    """Readers trust the corpus layout; a file that does not match it (`calibrate --data` takes any folder)
    becomes one line naming the folder instead of a KeyError deep inside a reader."""

    def wrap(reader: Callable[[Path], R]) -> Callable[[Path], R]:
        @functools.wraps(reader)
        def read(data_dir: Path) -> R:
            try:
                return reader(data_dir)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError, csv.Error, RecursionError) as exc:
                detail = f"missing column or field {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())[:160]
                raise DataFileError.single(data_dir / folder, None, "<corpus>",
                                           f"not in the expected layout: {type(exc).__name__}: {detail}") from None
            except UnicodeDecodeError as exc:
                raise DataFileError.single(data_dir / folder, None, "<corpus>", f"not UTF-8 text (byte {exc.start})") from None

        return read

    return wrap

EPITOME_FILES = {
    "er": "emotional-reactions-reddit.csv",
    "ip": "interpretations-reddit.csv",
    "ex": "explorations-reddit.csv",
}
ESCONV_STRATEGIES = (
    "Question",
    "Restatement or Paraphrasing",
    "Reflection of feelings",
    "Self-disclosure",
    "Affirmation and Reassurance",
    "Providing Suggestions",
    "Information",
    "Others",
)
# FailedESConv uses the original collection's spellings.
_FAILED_STRATEGY_NAMES = {
    "Questions": "Question",
    "Question": "Question",
    "Other": "Others",
    "Restatement": "Restatement or Paraphrasing",
    "Approval and Reassurance": "Affirmation and Reassurance",
    "Direct Guidance": "Providing Suggestions",
}


@dataclass(frozen=True)
class EpitomePair:
    """One Reddit seeker post and reply with its three EPITOME levels (0/1/2)."""

    sp_id: str
    rp_id: str
    seeker: str
    response: str
    er: int
    ip: int
    ex: int


@dataclass(frozen=True)
class SupportTurn:
    """A supporter utterance with what the seeker said just before it."""

    context: str
    response: str
    strategy: str


@dataclass(frozen=True)
class SupportConversation:
    """An ESConv (or FailedESConv) dialogue: its supporter turns and the seeker's rating."""

    conversation_id: str
    source: str  # "esconv" or "failed"
    turns: list[SupportTurn] = field(default_factory=list)
    seeker_empathy: int | None = None


@dataclass(frozen=True)
class ReflectionPrompt:
    """A PAIR client prompt with its expert-graded responses."""

    prompt: str
    high: list[str]
    medium: list[str]
    low: list[str]


@dataclass(frozen=True)
class UptakeExchange:
    """An NCTE student->teacher exchange with its mean uptake rating (0..2)."""

    obs_id: str
    exchange_idx: str
    student: str
    teacher: str
    uptake: float
    uptake_zscore: float


@_corpus("epitome_reddit")
def read_epitome(data_dir: Path) -> list[EpitomePair]:
    """The 3,023 unique (seeker, response) pairs with ER, IP and EX levels merged."""
    levels: dict[str, dict[tuple[str, str], int]] = {}
    texts: dict[tuple[str, str], tuple[str, str]] = {}
    for mechanism, name in EPITOME_FILES.items():
        per_pair: dict[tuple[str, str], int] = {}
        with _open(data_dir / "epitome_reddit" / name) as handle:
            for row in csv.DictReader(handle):
                key = (row["sp_id"], row["rp_id"])
                # A few pairs are listed twice; keep the first label, as every file is read alike.
                per_pair.setdefault(key, int(row["level"]))
                texts.setdefault(key, (row["seeker_post"], row["response_post"]))
        levels[mechanism] = per_pair
    return [
        EpitomePair(*key, seeker, response, levels["er"][key], levels["ip"][key], levels["ex"][key])
        for key, (seeker, response) in texts.items()
    ]


def _conversation_id(situation: str, first_texts: list[str]) -> str:
    """A content hash, since the HF release carries no conversation id."""
    payload = json.dumps([situation, *first_texts], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _support_turns(utterances: list[tuple[str, str, str]]) -> list[SupportTurn]:
    """Pair each supporter utterance with the seeker's latest run of messages."""
    turns: list[SupportTurn] = []
    seeker_block: list[str] = []
    last_speaker = ""
    for speaker, text, strategy in utterances:
        text = text.strip()
        if speaker == "seeker":
            if last_speaker != "seeker":
                seeker_block = []
            seeker_block.append(text)
        else:
            turns.append(SupportTurn(" ".join(seeker_block), text, strategy))
        last_speaker = speaker
    return turns


def _rating(value: object) -> int | None:
    """A 1..5 survey score, or None when absent."""
    try:
        return int(str(value))
    except ValueError:
        return None


@_corpus("esconv")
def read_esconv(data_dir: Path) -> list[SupportConversation]:
    """The 1,300 ESConv conversations (train, valid and test files of the HF release)."""
    conversations: list[SupportConversation] = []
    for name in ("train.json", "valid.json", "test.json"):
        path = data_dir / "esconv" / name
        with _open(path) as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                record = load_json(line, f"{path}:{number}")
                dialog = record["dialog"]
                utterances = [
                    ("seeker" if d["speaker"] == "usr" else "supporter", d["text"], d.get("strategy", ""))
                    for d in dialog
                ]
                cid = _conversation_id(record.get("situation", ""), [d["text"] for d in dialog[:4]])
                empathy = _rating(record.get("survey_score", {}).get("seeker", {}).get("empathy", ""))
                conversations.append(SupportConversation(cid, "esconv", _support_turns(utterances), empathy))
    return conversations


@_corpus("esconv")
def read_failed_esconv(data_dir: Path) -> list[SupportConversation]:
    """The 196 FailedESConv conversations (the low-quality contrast set)."""
    path = data_dir / "esconv" / "FailedESConv.json"
    records = load_json(read_text(path, MAX_CORPUS_FILE_BYTES), path, limit=MAX_CORPUS_FILE_BYTES)
    conversations: list[SupportConversation] = []
    for record in records:
        dialog = record["dialog"]
        utterances = []
        for d in dialog:
            strategy = d.get("annotation", {}).get("strategy", "")
            speaker = "seeker" if d["speaker"] == "speaker" else "supporter"
            utterances.append((speaker, d["content"], _FAILED_STRATEGY_NAMES.get(strategy, strategy)))
        cid = _conversation_id(record.get("situation", ""), [d["content"] for d in dialog[:4]])
        empathy = _rating(record.get("survey_score", {}).get("seeker", {}).get("empathy", ""))
        conversations.append(SupportConversation(cid, "failed", _support_turns(utterances), empathy))
    return conversations


@_corpus("pair_reflections")
def read_pair(data_dir: Path) -> list[ReflectionPrompt]:
    """The 318 PAIR prompts with 2 high, 1 medium and 5 low quality responses each."""
    with _open(data_dir / "pair_reflections" / "pair_data.csv") as handle:
        return [
            ReflectionPrompt(
                row["prompt"].strip(),
                [row["hq1"].strip(), row["hq2"].strip()],
                [row["mq1"].strip()],
                [row[f"lq{i}"].strip() for i in range(1, 6)],
            )
            for row in csv.DictReader(handle)
        ]


@_corpus("uptake_ncte")
def read_uptake(data_dir: Path) -> list[UptakeExchange]:
    """NCTE exchanges that carry an uptake rating (rows without one are skipped)."""
    exchanges: list[UptakeExchange] = []
    with _open(data_dir / "uptake_ncte" / "uptake_data.csv") as handle:
        for row in csv.DictReader(handle):
            if not row["uptake"] or not row["uptake_zscore"]:
                continue
            exchanges.append(
                UptakeExchange(
                    row["obs_id"],
                    row["exchange_idx"],
                    row["student_text"],
                    row["teacher_text"],
                    float(row["uptake"]),
                    float(row["uptake_zscore"]),
                )
            )
    return exchanges


def iter_support_turns(conversations: list[SupportConversation]) -> Iterator[tuple[str, SupportTurn]]:
    """(conversation_id, turn) for every supporter turn."""
    for conversation in conversations:
        for turn in conversation.turns:
            yield conversation.conversation_id, turn


@dataclass(frozen=True)
class TalkMove:
    """A teacher sentence straight after a student sentence, with the teacher talk-move code (1-9)."""

    transcript_id: str
    student: str
    teacher: str
    code: int


@dataclass(frozen=True)
class DialogueAct:
    """A DailyDialog turn with the turn before it and its act (1 inform, 2 question, 3 directive, 4 commissive)."""

    dialogue_id: str
    previous: str
    text: str
    act: int


CORPUS_FILES = {
    "talkmoves": Path("talkmoves") / "talkmoves_sentences.csv",
    "dailydialog": Path("dailydialog") / "dailydialog_utterances.csv",
}


def available(data_dir: Path, corpus: str) -> bool:
    """True when an optional corpus (TalkMoves, DailyDialog) is present; checks and training skip it otherwise."""
    return (data_dir / CORPUS_FILES[corpus]).is_file()


@_corpus("talkmoves")
def read_talkmoves(data_dir: Path) -> list[TalkMove]:
    """Teacher sentences that follow a student sentence in the same transcript (the authors' pair setting)."""
    moves: list[TalkMove] = []
    previous: dict[str, str] | None = None
    with _open(data_dir / "talkmoves" / "talkmoves_sentences.csv") as handle:
        for row in csv.DictReader(handle):
            same = previous is not None and previous["transcript_id"] == row["transcript_id"]
            if same and previous["role"] == "S" and row["role"] == "T" and row["teacher_code"].isdigit():
                moves.append(TalkMove(row["transcript_id"], previous["sentence"].strip(), row["sentence"].strip(),
                                      int(row["teacher_code"])))
            previous = row
    return moves


@_corpus("dailydialog")
def read_dailydialog(data_dir: Path) -> list[DialogueAct]:
    """Every DailyDialog turn after the first, deduplicated by dialogue text (the corpus repeats dialogues)."""
    dialogues: dict[tuple[str, str], list[tuple[str, int]]] = {}
    with _open(data_dir / "dailydialog" / "dailydialog_utterances.csv") as handle:
        for row in csv.DictReader(handle):
            dialogues.setdefault((row["split"], row["dialogue_idx"]), []).append((row["text"].strip(), int(row["act"])))
    acts: list[DialogueAct] = []
    seen: set[str] = set()
    for turns in dialogues.values():
        key = hashlib.sha256("\n".join(t for t, _ in turns).encode()).hexdigest()[:16]
        if key in seen:
            continue
        seen.add(key)
        acts.extend(DialogueAct(key, turns[i - 1][0], turns[i][0], turns[i][1]) for i in range(1, len(turns)))
    return acts
