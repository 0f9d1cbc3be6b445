"""Dense retrieval: a bi-encoder's unit vectors, ranked by inner product (= cosine).

Corpus vectors are cached on disk (:mod:`ragcook.cache`), keyed by the model's files, its
settings, the backend and the texts, so every notebook after the first one reuses them. Vectors
come from sentence-transformers (``backend="torch"``, :data:`ragcook.encode.backends.DEFAULT_BACKEND`)
or, opt-in, from an ONNX/OpenVINO export of the same model (``benchmarks/bench_encode.py`` compares
them). Search is exact:
one matrix product and :mod:`ragcook.retrieve.topk` (``index="exact"``), or FAISS's flat
inner-product index (``index="faiss"``), which returns the same ranking.
"""

from __future__ import annotations

import numpy as np

from ragcook import progress
from ragcook.cache import cached
from ragcook.encode.backends import ExportedEncoder, cache_tag, resolve_backend
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, fingerprint, load_sentence_transformer
from ragcook.retrieve.topk import search
from ragcook.types import Run


class Dense:
    """A bi-encoder and an exact inner-product search over L2-normalised vectors (= cosine).

    ``query_prompt`` is prepended to queries only (BGE-style instructions such as "Represent
    this sentence for searching relevant passages: ", or e5's "query: "). ``backend`` is ``"torch"``,
    ``"onnx"``, ``"onnx-int8"``, ... or ``None`` for the course default (torch when its runtime is missing).
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 64,
        query_prompt: str = "",
        max_seq_length: int | None = None,
        show_progress: bool | None = None,
        name: str = "dense",
        index: str = "exact",
        backend: str | None = None,
    ):
        if index not in ("exact", "faiss"):
            raise RagcookError(f"Dense: index must be 'exact' or 'faiss', got {index!r}")
        self.name, self.index_type = name, index
        self.model_path = model
        self.batch_size = batch_size
        self.query_prompt = query_prompt
        self.max_seq_length = max_seq_length
        self.show_progress = progress.enabled(show_progress)
        self.backend = resolve_backend(backend)
        self._model = None
        self._encoder: ExportedEncoder | None = None
        self._index = None
        self._ids: list[str] = []
        self.doc_vectors: np.ndarray | None = None

    def sharing_model(self) -> Dense:
        """A new retriever with the same model and settings and an index of its own (the loaded model is shared)."""
        twin = Dense(self.model_path, self.batch_size, self.query_prompt, self.max_seq_length, self.show_progress,
                     self.name, self.index_type, self.backend)  # fmt: skip
        twin._model, twin._encoder = self._model, self._encoder
        return twin

    @property
    def model(self):
        if self._model is None:
            self._model = load_sentence_transformer(self.model_path)
            if self.max_seq_length:
                self._model.max_seq_length = self.max_seq_length
        return self._model

    @property
    def encoder(self) -> ExportedEncoder:
        """The exported model of a non-torch backend (exported on first use, then read from the cache)."""
        if self._encoder is None:
            self._encoder = ExportedEncoder(self.model_path, self.backend, self.max_seq_length)
        return self._encoder

    def encode(self, texts: list[str], prompt: str = "", desc: str = "encode") -> np.ndarray:
        """Normalised float32 vectors, one row per text, from the cache when it has them."""
        key = f"{fingerprint(self.model_path)}|{self.max_seq_length}|{prompt}{cache_tag(self.backend)}"

        def compute(batch: list[str]) -> np.ndarray:
            if self.backend != "torch":
                show = self.show_progress and len(batch) > self.batch_size
                return self.encoder.encode([prompt + t for t in batch], self.batch_size, show_progress=show)
            return self.model.encode(
                [prompt + t for t in batch],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=self.show_progress and len(batch) > self.batch_size,
            ).astype(np.float32)

        return cached(key, texts, compute)

    def index(self, corpus: dict[str, str]) -> Dense:
        self._ids = list(corpus)
        self.doc_vectors = self.encode(list(corpus.values()), desc="corpus")
        if self.index_type == "faiss":
            import faiss

            self._index = faiss.IndexFlatIP(self.doc_vectors.shape[1])
            self._index.add(self.doc_vectors)
        return self

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        if self.doc_vectors is None:
            raise RagcookError("Dense: call index(corpus) before search()")
        qids = list(queries)
        qv = self.encode([queries[q] for q in qids], prompt=self.query_prompt, desc="queries")
        if self._index is None:
            return search(qv, self.doc_vectors, qids, self._ids, k)
        scores, idx = self._index.search(qv, min(k, len(self._ids)))
        return {q: {self._ids[int(j)]: float(s) for j, s in zip(idx[i], scores[i]) if j >= 0} for i, q in enumerate(qids)}
