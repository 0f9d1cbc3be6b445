"""Learned sparse retrieval: documents ranked by the dot product of sparse term weights.

Any encoder whose ``encode(texts)`` returns a (texts x vocabulary) scipy matrix, or a
``(dense, sparse)`` pair, works: SPLADE and the BGE-M3-style head of :mod:`ragcook.encode.sparse`.
:class:`DenseSparse` fuses the dense and sparse runs of one :class:`~ragcook.encode.sparse.M3Encoder`
pass. :func:`prune` keeps each document's heaviest weights: a smaller index for a little quality.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ragcook.encode.sparse import stack_rows
from ragcook.errors import RagcookError
from ragcook.retrieve.fusion import fuse
from ragcook.retrieve.topk import search, top_k, top_k_indices
from ragcook.types import Run


def prune(matrix: sp.spmatrix, top_n: int | None) -> sp.csr_matrix:
    """Keep the ``top_n`` largest weights of every row (``None`` keeps all)."""
    m = sp.csr_matrix(matrix, copy=True)
    if top_n is None:
        return m
    if top_n < 1:
        raise RagcookError(f"prune: top_n must be at least 1, got {top_n}")
    rows = []
    for i in range(m.shape[0]):
        ids, w = m.indices[m.indptr[i] : m.indptr[i + 1]], m.data[m.indptr[i] : m.indptr[i + 1]]
        if len(w) > top_n:
            sel = np.sort(top_k_indices(w, top_n))
            ids, w = ids[sel], w[sel]
        rows.append((ids, w))
    return stack_rows(rows, m.shape[1])


def _encode_sparse(encoder, texts: list[str]) -> sp.csr_matrix:
    out = encoder.encode(texts)
    return out[1] if isinstance(out, tuple) else out


class SparseRetriever:
    """Sparse dot-product retrieval over any encoder with ``encode(texts)`` (SPLADE or the M3 head).

    ``doc_top_n`` prunes every document to its heaviest weights (a smaller index).
    """

    def __init__(self, encoder, name: str = "sparse", doc_top_n: int | None = None):
        self.encoder, self.name, self.doc_top_n = encoder, name, doc_top_n
        self.doc_ids: list[str] = []
        self.doc_matrix: sp.csr_matrix | None = None

    def index(self, corpus: dict[str, str]) -> SparseRetriever:
        self.doc_ids = list(corpus)
        self.doc_matrix = prune(_encode_sparse(self.encoder, list(corpus.values())), self.doc_top_n)
        return self

    def encode_queries(self, queries: dict[str, str]) -> sp.csr_matrix:
        return _encode_sparse(self.encoder, list(queries.values()))

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        if self.doc_matrix is None:
            raise RagcookError(f"{self.name}: call index(corpus) before search()")
        return search(self.encode_queries(queries), self.doc_matrix, list(queries), self.doc_ids, k, positive_only=True)


class DenseSparse:
    """Dense + sparse from one :class:`M3Encoder` pass, fused per query.

    Each side returns its top ``depth``; then

    - ``"atan"`` (default): Milvus's ``WeightedRanker(weight, 1 - weight)``, see :func:`atan_fusion`;
    - ``"rrf"``: ``sum 1 / (rrf_k + rank)``, Milvus's ``RRFRanker(rrf_k)``;
    - ``"minmax"``: min-max normalised scores (:func:`ragcook.retrieve.fusion.minmax_fusion`).

    The first two are the database's own formulas, so :mod:`ragcook.retrieve.vectordb` ranks the same way.
    ``weight`` is on dense; 0.7 was chosen on the InsuranceQA validation split.
    """

    def __init__(
        self,
        encoder,
        method: str = "atan",
        weight: float = 0.7,
        rrf_k: int = 60,
        depth: int = 100,
        name: str = "dense+sparse",
    ):
        if method not in ("atan", "rrf", "minmax"):
            raise RagcookError(f"DenseSparse: unknown fusion method {method!r}; use atan, rrf or minmax")
        self.encoder, self.method, self.weight = encoder, method, weight
        self.rrf_k, self.depth, self.name = rrf_k, depth, name
        self.doc_ids: list[str] = []
        self.doc_dense: np.ndarray | None = None
        self.doc_sparse: sp.csr_matrix | None = None

    def index(self, corpus: dict[str, str]) -> DenseSparse:
        self.doc_ids = list(corpus)
        self.doc_dense, self.doc_sparse = self.encoder.encode(list(corpus.values()))
        return self

    def runs(self, queries: dict[str, str], k: int | None = None) -> tuple[Run, Run]:
        """The dense run and the sparse run (top ``k``, default ``depth``), before fusion."""
        if self.doc_dense is None:
            raise RagcookError(f"{self.name}: call index(corpus) before search()")
        qd, qs = self.encoder.encode(list(queries.values()))
        depth = k or self.depth
        qids = list(queries)
        return (
            search(qd, self.doc_dense, qids, self.doc_ids, depth),
            search(qs, self.doc_sparse, qids, self.doc_ids, depth, positive_only=True),
        )

    def fuse(self, dense: Run, sparse: Run, k: int = 100) -> Run:
        """Fuse the top ``depth`` of each run and keep the best ``k``."""
        weights = None if self.method == "rrf" else [self.weight, 1 - self.weight]
        return top_k(fuse([dense, sparse], weights, self.method, self.rrf_k, self.depth), k)

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        dense, sparse = self.runs(queries, self.depth)
        return self.fuse(dense, sparse, k)
