"""BehaviourCoder: codes a learner turn against what the other person just said.

Embeddings (MiniLM, ONNX) + numpy linear heads + a few wording rules; no LLM, no network.
See weights/MODEL_CARD.md for what each head was trained on.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from .advice_consent import asks_for_advice, asks_permission
from .codes import TurnCodes, TurnProbabilities
from .features import pair_features
from .grader_directed import is_grader_directed
from .heads import LinearHead, load_heads
from .lexical import cue_count
from .ngrams import NgramTfidf
from .praise import affirming_words, hollow_praise, stock_question
from .questions import classify_sentence, classify_turn, split_sentences
from .relation import (
    grounding,
    lexical_fit,
    local_specificity_terms,
    parroting,
    shared_content,
    specificity,
    word_salad,
)

WEIGHTS_PATH = Path(__file__).parent / "weights" / "coder.npz"
LEVELS = np.array([0.0, 1.0, 2.0], dtype=np.float32)
SUGGESTION_LABEL = "Providing Suggestions"
AFFIRMATION_LABEL = "Affirmation and Reassurance"
REFLECTION_LABELS = ("none", "simple", "complex")
# A reflection that shares fewer than two content words with what they said must mean something close to it (cosine).
RELATED = 0.35
RELATED_WITH_A_WORD = 0.25  # one shared word ("first", "time") is often chance; with some closeness in meaning it is not
# Pairs per internal chunk: bounds memory of the feature matrix for long batches.
CHUNK = 512


class Embedder(Protocol):
    """Anything that turns texts into unit vectors (SentenceEmbedder, or a cache in training)."""

    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def empathy_score(
    er: np.ndarray, ip: np.ndarray, ex: np.ndarray, reflection: np.ndarray, specific: np.ndarray | None = None
) -> np.ndarray:
    """1 + 4 * (E[ER] + max(E[IP], E[reflection]) + E[EX]) / 6: the EPITOME 0..6 total rescaled to 1..5.

    Each argument holds (n, 3) probabilities over levels 0/1/2 (reflection: none/simple/complex).
    A reflection is communicated understanding, which EPITOME's Reddit-trained IP head misses
    in MI-style wording, so the reflection level stands in when it is higher. `specific` (0..1 per row)
    discounts warmth and understanding that would fit any conversation: a stock "I understand how you
    feel" communicates less understanding than a reply that could only follow what they said.
    """
    understanding = np.maximum(ip @ LEVELS, reflection @ LEVELS)
    warmth = er @ LEVELS
    if specific is not None:
        understanding = understanding * (0.35 + 0.65 * specific)
        warmth = warmth * (0.6 + 0.4 * specific)
    total = warmth + understanding + ex @ LEVELS
    return 1.0 + 4.0 * total / 6.0


def _reflection_level(probabilities: np.ndarray, cut: float | None) -> int:
    """0 none / 1 simple / 2 complex: a reflection when P(simple or complex) reaches the trained cut-off."""
    if cut is None:  # weights from before the cut-off was trained
        return int(probabilities.argmax())
    if 1.0 - float(probabilities[0]) < cut:
        return 0
    return 1 if probabilities[1] >= probabilities[2] else 2


class BehaviourCoder:
    """Codes (context, response) pairs into TurnCodes with linear heads over MiniLM features."""

    def __init__(self, embedder: Embedder, weights_path: Path = WEIGHTS_PATH) -> None:
        heads, arrays, manifest = load_heads(weights_path)
        self.embedder = embedder
        self.heads: dict[str, LinearHead] = heads
        self.manifest = manifest
        self.thresholds: dict[str, float] = manifest["thresholds"]
        self.tfidf = NgramTfidf([str(t) for t in arrays["ngram_vocabulary"]], arrays["ngram_idf"])
        # Other people's turns: a reply that fits them as well as its own context is not specific.
        self.bank = arrays["bank"].astype(np.float32) if "bank" in arrays else None
        self._ngram_heads = [h for h in heads.values() if h.ngram_weights is not None]
        self._ngram_block = np.hstack([h.ngram_weights for h in self._ngram_heads]) if self._ngram_heads else None
        if embedder.dim != manifest["embedding_dim"]:
            raise ValueError(f"embedder gives {embedder.dim}-d vectors, heads expect {manifest['embedding_dim']}")

    def _embed_pairs(self, pairs: Sequence[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
        """Context and response vectors; each distinct text is embedded once, '' maps to zeros."""
        unique = sorted({t for pair in pairs for t in pair if t.strip()})
        vectors = self.embedder.embed(unique) if unique else np.zeros((0, self.embedder.dim), np.float32)
        row = {text: i for i, text in enumerate(unique)}
        zero = np.zeros(self.embedder.dim, dtype=np.float32)

        def lookup(text: str) -> np.ndarray:
            return vectors[row[text]] if text.strip() else zero

        contexts = np.stack([lookup(c) for c, _ in pairs])
        responses = np.stack([lookup(r) for _, r in pairs])
        return contexts, responses

    def _head_outputs(self, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
        """Every head's output for a chunk of pairs, plus the specificity inputs ("gap", "rank")."""
        contexts, responses = self._embed_pairs(pairs)
        features = pair_features(contexts, responses, pairs, self.bank)
        own = np.einsum("ij,ij->i", contexts, responses)
        local_gap, local_rank = local_specificity_terms(contexts, responses, self.bank)
        ngram_scores: dict[str, np.ndarray] = {}
        if self._ngram_block is not None:
            projected = self.tfidf.project([r for _, r in pairs], self._ngram_block)
            start = 0
            for head in self._ngram_heads:
                width = head.weights.shape[1]
                ngram_scores[head.name] = projected[:, start : start + width]
                start += width
        out = {name: head(features, ngram_scores.get(name)) for name, head in self.heads.items()}
        return {**out, "gap": local_gap, "rank": local_rank, "own": own}

    def analyse_batch(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[TurnCodes, TurnProbabilities]]:
        """Codes plus the probabilities behind them, for every (context, response) pair."""
        results: list[tuple[TurnCodes, TurnProbabilities]] = []
        strategy_labels = self.heads["strategy"].labels
        suggestion_column = strategy_labels.index(SUGGESTION_LABEL)
        affirmation_column = strategy_labels.index(AFFIRMATION_LABEL)
        for start in range(0, len(pairs), CHUNK):
            chunk = [(c or "", r or "") for c, r in pairs[start : start + CHUNK]]
            out = self._head_outputs(chunk)
            for i, (context, response) in enumerate(chunk):
                grounded = grounding(context, response)
                salad = word_salad(response)
                specific = 0.0 if salad and context.strip() else specificity(
                    float(out["rank"][i]), float(out["gap"][i]), lexical_fit(context, response), bool(context.strip()))
                strategy = out["strategy"][i]
                suggestion = float(strategy[suggestion_column])
                affirmation = float(strategy[affirmation_column])
                requested = asks_for_advice(context)
                permission = asks_permission(response)
                reflection = _reflection_level(out["reflection"][i], self.thresholds.get("reflection"))
                parrot = parroting(context, response)
                suggests = suggestion >= self.thresholds["suggestion"] and (
                    cue_count("advice", response) > 0 or suggestion >= 0.6
                )
                shared = shared_content(context, response)
                close = float(out["own"][i])
                carries = shared >= 2 or close >= RELATED or (shared == 1 and close >= RELATED_WITH_A_WORD)
                if reflection and context.strip() and not parrot and (not carries or (suggests and grounded == 0.0)):
                    # Carries nothing of theirs: a stem, a topic in common or advice on it is not a reflection.
                    reflection = 0
                if parrot:
                    reflection = 1  # near-verbatim repetition is at most a simple reflection
                hollow = hollow_praise(response, context)
                questions = [s for s in split_sentences(response) if classify_sentence(s) != "none"]
                stock = bool(questions) and all(stock_question(q) for q in questions)
                if reflection and not parrot and (hollow or salad or (stock and shared < 2)):
                    reflection = 0  # praise that fits anyone, or "Tell me more", carries nothing of theirs
                # The reflection decided above (after the relation rules) stands in for the head's probabilities.
                empathy = float(empathy_score(
                    out["er"][i : i + 1], out["ip"][i : i + 1], out["ex"][i : i + 1],
                    np.eye(3, dtype=np.float32)[[reflection]], np.array([specific], np.float32),
                )[0])
                codes = TurnCodes(
                    emotional_reaction=int(out["er"][i].argmax()),
                    # A complex reflection communicates understanding (at least weak IP). A simple one need not: with
                    # the three-corpus reflection head it fires on a third of Reddit replies EPITOME's raters coded IP 0.
                    interpretation=max(int(out["ip"][i].argmax()), reflection - 1),
                    exploration=int(out["ex"][i].argmax()),
                    reflection=REFLECTION_LABELS[reflection],
                    question=classify_turn(response),
                    # An affirmation names a strength or effort of theirs: the wording, and either the ESConv head or a
                    # reply specific to what they said (the head alone also fires on reassurance and on reflections).
                    affirmation=affirming_words(response) and not hollow and not parrot
                    and (affirmation >= self.thresholds["affirmation"] or specific >= 0.5),
                    advice=suggests and not requested and not permission,
                    uptake=float(out["uptake"][i]),
                    empathy=float(np.clip(empathy, 1.0, 5.0)),
                    specificity=round(specific, 4),
                    parroting=parrot,
                    hollow_praise=hollow,
                    grader_directed=is_grader_directed(response),
                    advice_with_permission=suggests and (requested or permission),
                    question_follows=bool(questions) and not stock and not salad
                    and (shared_content(context, " ".join(questions)) > 0 or specific >= 0.5),
                    stock_question=stock,
                )
                probabilities = TurnProbabilities(
                    emotional_reaction=tuple(float(p) for p in out["er"][i]),
                    interpretation=tuple(float(p) for p in out["ip"][i]),
                    exploration=tuple(float(p) for p in out["ex"][i]),
                    reflection=tuple(float(p) for p in out["reflection"][i]),
                    strategy={label: float(p) for label, p in zip(strategy_labels, strategy)},
                    suggestion=suggestion,
                    affirmation=affirmation,
                    advice_requested=requested,
                    permission_asked=permission,
                )
                results.append((codes, probabilities))
        return results

    def code_batch(self, pairs: Sequence[tuple[str, str]]) -> list[TurnCodes]:
        """TurnCodes for many (context, response) pairs, embedding them in batches (fast path)."""
        return [codes for codes, _ in self.analyse_batch(pairs)]

    def code_each(self, pairs: Sequence[tuple[str, str]]) -> list[TurnCodes]:
        """`code` for each pair, exactly: their texts are embedded first, together and in parallel (each still in
        its own run), then each pair goes through the heads alone, so a turn's codes never depend on which other
        turns were read with it (a matrix product over many rows rounds differently from one over one row)."""
        texts = sorted({t for pair in pairs for t in pair if t.strip()})
        if len(texts) > 1:
            self.embedder.embed(texts)  # memoised: each `code` below finds its vectors
        return [self.code(context, response) for context, response in pairs]

    def prepare(self, context: str) -> None:
        """Embed a context ahead of the responses that will be coded against it (the persona's latest reply)."""
        prepare = getattr(self.embedder, "prepare", None)
        if prepare is not None:
            prepare(context)

    def code(self, context: str, response: str) -> TurnCodes:
        """TurnCodes for one response to `context` ('' when there is none)."""
        return self.code_batch([(context, response)])[0]


_coder: BehaviourCoder | None = None
_coder_lock = threading.Lock()


def load_coder() -> BehaviourCoder:
    """The process-wide coder with the committed weights and the shared embedder (cached)."""
    global _coder
    if _coder is None:
        with _coder_lock:
            if _coder is None:
                from threadpoolctl import threadpool_limits

                from ..embeddings import get_embedder

                # The coder's matrix products are small and many; OpenBLAS's own threads spin-wait between them and
                # burned about a quarter of a suite's CPU (docs/benchmarks.md). So BLAS gets one thread, for the
                # whole process, set once here before the coder first runs: the parallelism is the reader workers.
                threadpool_limits(limits=1, user_api="blas")
                _coder = BehaviourCoder(get_embedder())
    return _coder
