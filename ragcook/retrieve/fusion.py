"""Fusing runs: several retrievers' rankings of the same query made into one.

Scores of different retrievers live on different scales (BM25 is unbounded, a cosine is at most
1), so each run is first *normalised*, per query, then the runs are added with weights. The
normalisations, by name:

========  =============================================================================
``minmax``  ``(s - min) / (max - min)`` over the query's retrieved documents: 0 to 1
``zscore``  ``(s - mean) / std`` over the query's retrieved documents
``atan``    ``0.5 + atan(s) / pi``: Milvus's ``WeightedRanker(norm_score=True)``; it needs no
            other document, so a database can apply it shard by shard
``rrf``     reciprocal rank fusion (Cormack et al., 2009): ``1 / (k + rank)``, scores ignored
========  =============================================================================

A document missing from a run gets that run's floor: 0 for ``minmax``, ``atan`` and ``rrf``,
the query's lowest z-score for ``zscore``.
"""

from __future__ import annotations

import math

import numpy as np

from ragcook.errors import RagcookError
from ragcook.retrieve.topk import top_k
from ragcook.types import Run

NORMS = ("minmax", "zscore", "atan", "rrf")


def _normalised(docs: dict[str, float], norm: str, rrf_k: int) -> tuple[dict[str, float], float]:
    """Normalised scores of one query's documents, and the floor for documents the run lacks."""
    if not docs:
        return {}, 0.0
    if norm == "rrf":
        ranked = sorted(docs.items(), key=lambda x: -x[1])
        return {d: 1.0 / (rrf_k + r) for r, (d, _) in enumerate(ranked, 1)}, 0.0
    if norm == "atan":
        return {d: 0.5 + math.atan(s) / math.pi for d, s in docs.items()}, 0.0
    v = np.fromiter(docs.values(), dtype=np.float64, count=len(docs))
    if norm == "minmax":
        span = v.max() - v.min()
        return {d: float((s - v.min()) / span) if span > 0 else 1.0 for d, s in docs.items()}, 0.0
    sd = v.std()
    z = {d: float((s - v.mean()) / sd) if sd > 0 else 0.0 for d, s in docs.items()}
    return z, min(z.values())


def fuse(
    runs: list[Run], weights: list[float] | None = None, norm: str = "minmax", rrf_k: int = 60, depth: int | None = None
) -> Run:
    """Sum of ``weight * normalised score`` over ``runs`` (see the module docstring for ``norm``).

    ``depth`` keeps only each run's top ``depth`` documents before fusing (``None``: all).
    """
    if norm not in NORMS:
        raise RagcookError(f"fusion: unknown normalisation {norm!r}; use one of {', '.join(NORMS)}")
    weights = [1.0] * len(runs) if weights is None else list(weights)
    if len(weights) != len(runs):
        raise RagcookError(f"fusion: {len(runs)} runs but {len(weights)} weights")
    if any(not 0 <= w for w in weights):
        raise RagcookError(f"fusion: weights must be >= 0, got {weights}")
    if depth is not None:
        runs = [top_k(r, depth) for r in runs]
    normed = [{q: _normalised(docs, norm, rrf_k) for q, docs in run.items()} for run in runs]
    fused: Run = {}
    for qid in dict.fromkeys(q for run in runs for q in run):
        docs = dict.fromkeys(d for run in runs for d in run.get(qid, {}))
        out = fused.setdefault(qid, {})
        for n, w in zip(normed, weights):
            scores, floor = n.get(qid, ({}, 0.0))
            for d in docs:
                out[d] = out.get(d, 0.0) + w * scores.get(d, floor)
    return fused


def rrf(runs: list[Run], k: int = 60, depth: int = 100, weights: list[float] | None = None) -> Run:
    """Reciprocal rank fusion of the top ``depth`` of each run: ``sum of w / (k + rank)``."""
    return fuse(runs, weights, "rrf", rrf_k=k, depth=depth)


def minmax_fusion(runs: list[Run], weights: list[float] | None = None) -> Run:
    """Min-max normalise each run per query, then add them with ``weights``."""
    return fuse(runs, weights, "minmax")


def atan_fusion(runs: list[Run], weights: list[float]) -> Run:
    """Milvus's ``WeightedRanker(*weights, norm_score=True)``: ``sum of w * (0.5 + atan(s) / pi)``."""
    return fuse(runs, weights, "atan")


class Hybrid:
    """Several retrievers, one ranking: each searches to ``depth``, then :func:`fuse` with ``norm``.

    ``weights`` default to equal; for two runs (sparse, dense) ``Hybrid([bm25, dense],
    weights=[0.3, 0.7])`` puts 0.7 on dense.
    """

    def __init__(
        self,
        retrievers: list,
        norm: str = "minmax",
        weights: list[float] | None = None,
        rrf_k: int = 60,
        depth: int = 100,
        name: str = "hybrid",
    ):
        if norm not in NORMS:
            raise RagcookError(f"Hybrid: unknown normalisation {norm!r}; use one of {', '.join(NORMS)}")
        self.name, self.retrievers, self.norm = name, retrievers, norm
        self.weights, self.rrf_k, self.depth = weights, rrf_k, depth

    def index(self, corpus: dict[str, str]) -> Hybrid:
        for r in self.retrievers:
            r.index(corpus)
        return self

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        runs = [r.search(queries, k=max(k, self.depth)) for r in self.retrievers]
        return top_k(fuse(runs, self.weights, self.norm, self.rrf_k, self.depth), k)
