"""Exact top-k: the one place where ragcook picks the best-scoring documents.

Every exact search in the course (dense vectors, sparse weights, late-chunked chunks, hard-
negative mining) ends in a score matrix, queries by documents. :func:`top_k_indices` picks the
``k`` best columns of each row with ``argpartition`` (linear time) and sorts only those, best
first, ties broken by the lower column index so that every run is reproducible.
"""

from __future__ import annotations

import numpy as np

from ragcook.errors import RagcookError
from ragcook.types import Run


def top_k_indices(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest scores of each row (or of a 1-d array), best first."""
    s = np.asarray(scores)
    one = s.ndim == 1
    s = np.atleast_2d(s)
    if s.ndim != 2:
        raise RagcookError(f"top_k_indices: scores must be 1-d or 2-d, got {s.ndim} dimensions")
    n = s.shape[1]
    k = max(0, min(int(k), n))
    if k == 0:
        return np.zeros(0 if one else (s.shape[0], 0), dtype=np.int64)
    if k < n:
        # The k-th largest score of each row (argpartition's linear-time selection), then every score
        # above it and, of the scores equal to it, the ones with the lowest index: ties never depend
        # on the partition's internal order.
        kth = np.take_along_axis(s, np.argpartition(-s, k - 1, axis=1)[:, k - 1 : k], axis=1)
        tied = s == kth
        take = (s > kth) | (tied & (np.cumsum(tied, axis=1) <= k - (s > kth).sum(axis=1, keepdims=True)))
        part = np.nonzero(take)[1].reshape(s.shape[0], k)
    else:
        part = np.broadcast_to(np.arange(n), s.shape)
    order = np.lexsort((part, -np.take_along_axis(s, part, axis=1)), axis=1)
    out = np.take_along_axis(part, order, axis=1)
    return out[0] if one else out


def scores_to_run(scores: np.ndarray, query_ids: list[str], doc_ids: list[str], k: int = 100, positive_only: bool = False) -> Run:
    """The top ``k`` of a (queries x documents) score matrix as a :data:`~ragcook.types.Run`.

    Scores of ``-inf`` (documents masked out) are never returned; ``positive_only`` also drops
    scores <= 0 (a sparse dot product of 0 means no shared term, not a weak match).
    """
    scores = np.asarray(scores)
    if scores.shape != (len(query_ids), len(doc_ids)):
        raise RagcookError(f"scores_to_run: scores are {scores.shape}, ids are {len(query_ids)} x {len(doc_ids)}")
    run: Run = {}
    for q, row, idx in zip(query_ids, scores, top_k_indices(scores, k)):
        run[q] = {doc_ids[j]: float(row[j]) for j in idx if row[j] > (0 if positive_only else -np.inf)}
    return run


def search(
    query_vecs: np.ndarray,
    doc_vecs,
    query_ids: list[str],
    doc_ids: list[str],
    k: int = 100,
    batch: int = 512,
    positive_only: bool = False,
) -> Run:
    """Exact search by dot product (cosine for unit vectors), dense arrays or scipy sparse matrices.

    Queries go in batches of ``batch`` so the score matrix stays small for big corpora.
    """
    if query_vecs.shape[0] != len(query_ids) or doc_vecs.shape[0] != len(doc_ids):
        raise RagcookError("search: the number of vectors and of ids differ")
    dt = doc_vecs.T.tocsc() if hasattr(doc_vecs, "tocsc") else np.asarray(doc_vecs, dtype=np.float32).T
    run: Run = {}
    for s in range(0, len(query_ids), batch):
        q = query_vecs[s : s + batch]
        scores = q @ dt if hasattr(q, "tocsr") else np.asarray(q, dtype=np.float32) @ dt
        scores = scores.toarray() if hasattr(scores, "toarray") else np.asarray(scores)
        run.update(scores_to_run(scores, query_ids[s : s + batch], doc_ids, k, positive_only))
    return run


def top_k(run: Run, k: int) -> Run:
    """Keep the ``k`` best documents of each query of a run (ties keep the run's order)."""
    return {q: dict(sorted(d.items(), key=lambda x: -x[1])[:k]) for q, d in run.items()}
