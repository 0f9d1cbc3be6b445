"""Late interaction: a query and a document compared token by token (ColBERT's MaxSim), and BGE-M3's "all" mode.

Every token of the query looks for its best match among the document's tokens, and the
document's score adds those best matches up::

    score(q, d) = sum over query tokens i of ( max over document tokens j of cos(q_i, d_j) )

:func:`maxsim` is that line for one pair. :func:`maxsim_scores` scores every query against every
document exactly, in blocks: one matrix product of all query tokens against a block of document
tokens, a max over each document's tokens, a sum over each query's tokens.
:class:`MultiVector` is the retriever: exact over the whole corpus, or a reranker of a first
stage's top ``depth`` (how ColBERT's engines avoid scoring every document).

BGE-M3 (Chen et al., 2024) scores a pair three ways from one model (dense, sparse, multi-vector,
the last as MaxSim divided by the query's token count) and its ``compute_score(...,
weights_for_different_modes=[w1, w2, w3])`` returns ``(w1 * dense + w2 * sparse + w3 * multi) /
(w1 + w2 + w3)`` on the raw scores: :func:`weighted_modes`. :class:`ThreeModes` computes the three
score matrices for a corpus.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ragcook.encode.multivector import MultiVectorModel, TokenVectors, from_list
from ragcook.errors import RagcookError
from ragcook.retrieve.topk import scores_to_run
from ragcook.types import Run

MODES = ("dense", "sparse", "multi-vector")


def maxsim(q: np.ndarray, d: np.ndarray) -> float:
    """ColBERT's late-interaction score of one query and one document (rows are unit token vectors)."""
    sims = q @ d.T  # cos(q_i, d_j) for every query token i and document token j
    return float(sims.max(axis=1).sum())  # best document token per query token, added up


def _blocks(offsets: np.ndarray, max_tokens: int) -> Iterator[tuple[int, int]]:
    """Consecutive runs of texts holding at most ``max_tokens`` tokens (at least one text each)."""
    n, start = len(offsets) - 1, 0
    while start < n:
        end = int(np.searchsorted(offsets, offsets[start] + max_tokens, side="right")) - 1
        end = min(max(end, start + 1), n)
        yield start, end
        start = end


def maxsim_scores(
    queries: TokenVectors, docs: TokenVectors, mean: bool = False, query_tokens: int = 1024, block: int = 2**24
) -> np.ndarray:
    """Exact MaxSim of every (query, document) pair, a (queries x documents) float32 matrix.

    ``mean=True`` divides by the query's token count (BGE-M3's colbert score). Work goes in blocks
    of ``query_tokens`` query tokens and about ``block`` token similarities, to bound memory.
    """
    if queries.dim != docs.dim:
        raise RagcookError(f"maxsim_scores: query vectors are {queries.dim}-d, document vectors {docs.dim}-d")
    if (queries.lengths() == 0).any() or (docs.lengths() == 0).any():
        raise RagcookError("maxsim_scores: every query and document needs at least one vector")
    out = np.empty((len(queries), len(docs)), dtype=np.float32)
    for qa, qb in _blocks(queries.offsets, query_tokens):
        q = queries.vectors[queries.offsets[qa] : queries.offsets[qb]]
        q_starts = queries.offsets[qa:qb] - queries.offsets[qa]
        for da, db in _blocks(docs.offsets, max(1, block // len(q))):
            d = docs.vectors[docs.offsets[da] : docs.offsets[db]]
            sims = q @ d.T  # every query token against every document token of the block
            best = np.maximum.reduceat(sims, docs.offsets[da:db] - docs.offsets[da], axis=1)  # max per document
            out[qa:qb, da:db] = np.add.reduceat(best, q_starts, axis=0)  # sum per query
    if mean:
        out /= queries.lengths()[:, None].astype(np.float32)
    return out


def rerank_scores(queries: TokenVectors, docs: TokenVectors, candidates: list[np.ndarray], mean: bool = False) -> np.ndarray:
    """MaxSim of each query with its candidate documents only; every other score is ``-inf``."""
    out = np.full((len(queries), len(docs)), -np.inf, dtype=np.float32)
    for i, idx in enumerate(candidates):
        if len(idx):
            one = from_list([queries[i]])
            out[i, idx] = maxsim_scores(one, docs.take(idx), mean=mean)[0]
    return out


def weighted_modes(scores: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """BGE-M3's "all" score: the weighted mean of the modes' raw scores, ``sum(w * s) / sum(w)``."""
    total = sum(weights.values())
    if total <= 0 or any(w < 0 for w in weights.values()):
        raise RagcookError(f"weighted_modes: weights must be >= 0 and not all 0, got {weights}")
    missing = set(weights) - set(scores)
    if missing:
        raise RagcookError(f"weighted_modes: no scores for {', '.join(sorted(missing))}")
    return sum(w * scores[m] for m, w in weights.items() if w > 0) / total


class MultiVector:
    """Late-interaction retrieval over a :class:`~ragcook.encode.multivector.MultiVectorModel`.

    :meth:`search` scores every document (exact); :meth:`rerank` scores only a first stage's top
    ``depth`` per query (a dense run, say), which is how ColBERT's engines avoid scoring them all.
    """

    def __init__(self, encoder: MultiVectorModel, name: str = "multi-vector"):
        self.encoder, self.name = encoder, name
        self.doc_ids: list[str] = []
        self.docs: TokenVectors | None = None

    def index(self, corpus: dict[str, str]) -> MultiVector:
        self.doc_ids = list(corpus)
        self.docs = self.encoder.encode_documents(list(corpus.values()))
        return self

    def scores(self, queries: dict[str, str], mean: bool = False) -> np.ndarray:
        """Exact (queries x documents) MaxSim; ``mean`` divides by each query's token count."""
        if self.docs is None:
            raise RagcookError(f"{self.name}: call index(corpus) before search()")
        return maxsim_scores(self.encoder.encode_queries(list(queries.values())), self.docs, mean=mean)

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        return scores_to_run(self.scores(queries), list(queries), self.doc_ids, k)

    def rerank(self, queries: dict[str, str], first: Run, k: int = 100, depth: int = 100) -> Run:
        """MaxSim over the top ``depth`` documents of ``first`` for each query only."""
        if self.docs is None:
            raise RagcookError(f"{self.name}: call index(corpus) before rerank()")
        pos = {d: j for j, d in enumerate(self.doc_ids)}
        candidates = [
            np.array([pos[d] for d, _ in sorted(first.get(q, {}).items(), key=lambda x: -x[1])[:depth]], dtype=np.int64)
            for q in queries
        ]
        q = self.encoder.encode_queries(list(queries.values()))
        return scores_to_run(rerank_scores(q, self.docs, candidates), list(queries), self.doc_ids, k)


class ThreeModes:
    """BGE-M3's three scores of every (query, document) pair: dense and sparse from an
    :class:`~ragcook.encode.sparse.M3Encoder`, multi-vector from a :class:`MultiVector` retriever.
    ``search`` ranks by :func:`weighted_modes` with ``weights`` (dense, sparse, multi-vector)."""

    def __init__(self, m3, multi: MultiVector, weights: tuple[float, float, float] = (0.4, 0.2, 0.4), name: str = "all"):
        self.m3, self.multi, self.weights, self.name = m3, multi, tuple(weights), name
        self.doc_ids: list[str] = []
        self.doc_dense = self.doc_sparse = None

    def index(self, corpus: dict[str, str]) -> ThreeModes:
        self.doc_ids = list(corpus)
        self.doc_dense, self.doc_sparse = self.m3.encode(list(corpus.values()))
        self.multi.index(corpus)
        return self

    def mode_scores(self, queries: dict[str, str]) -> dict[str, np.ndarray]:
        """The raw (queries x documents) score matrix of each mode, as BGE-M3 adds them."""
        if self.doc_dense is None:
            raise RagcookError(f"{self.name}: call index(corpus) before search()")
        qd, qs = self.m3.encode(list(queries.values()))
        return {
            "dense": qd @ self.doc_dense.T,
            "sparse": np.asarray((qs @ self.doc_sparse.T).toarray(), dtype=np.float32),
            "multi-vector": self.multi.scores(queries, mean=True),
        }

    def search(self, queries: dict[str, str], k: int = 100, scores: dict[str, np.ndarray] | None = None) -> Run:
        scores = scores if scores is not None else self.mode_scores(queries)
        combined = weighted_modes(scores, dict(zip(MODES, self.weights)))
        return scores_to_run(combined, list(queries), self.doc_ids, k)
