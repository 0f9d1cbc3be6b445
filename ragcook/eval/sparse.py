"""Notebook 04's experiments on learned sparse retrieval: index size against quality, fusion weights.

:func:`pruning_curve` keeps each document's top-N weights and scores what is left;
:func:`fusion_sweep` scores dense + sparse fusion for each weight on dense, and :func:`choose_fusion_weight`
picks the best of them on validation data (the one implementation behind ``ragcook run``'s hybrid weight and
notebook 16's).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ragcook.encode.sparse import avg_nonzeros
from ragcook.errors import RagcookError
from ragcook.eval.metrics import evaluate
from ragcook.retrieve.bm25 import bm25_tokens
from ragcook.retrieve.fusion import NORMS, fuse
from ragcook.retrieve.sparse import SparseRetriever, prune
from ragcook.retrieve.topk import search
from ragcook.types import Run


def bm25_nonzeros(texts: list[str], lang: str = "en") -> float:
    """Average distinct terms per text after BM25's tokenizer (stop words out, stemmed): its index size."""
    toks = bm25_tokens(list(texts), lang)
    return float(np.mean([len(set(t)) for t in toks])) if toks else 0.0


def pruning_curve(retriever: SparseRetriever, queries: dict[str, str], qrels, sizes: Iterable[int | None]):
    """nDCG@10 and average non-zeros per document when documents keep only their top-N weights."""
    import pandas as pd

    if retriever.doc_matrix is None:
        raise RagcookError("pruning_curve: index the retriever first")
    q = retriever.encode_queries(queries)
    rows = []
    for n in sizes:
        d = prune(retriever.doc_matrix, n)
        run = search(q, d, list(queries), retriever.doc_ids, k=10, positive_only=True)
        rows.append(
            {
                "top_n": n if n is not None else "all",
                "ndcg@10": evaluate(qrels, run, ["ndcg@10"])["ndcg@10"],
                "avg_nnz": avg_nonzeros(d),
            }
        )
    return pd.DataFrame(rows)


def fusion_sweep(dense: Run, sparse: Run, qrels, weights: Iterable[float], method: str = "atan", metric: str = "ndcg@10"):
    """``metric`` of weighted fusion for each weight on dense (0 = sparse only, 1 = dense only).

    ``method`` names the normalisation (:mod:`ragcook.retrieve.fusion`): ``atan`` is Milvus's ``WeightedRanker``.
    """
    import pandas as pd

    if method not in NORMS:
        raise RagcookError(f"fusion_sweep: unknown method {method!r}; use one of {', '.join(NORMS)}")
    rows = [
        {"weight": float(w), metric: evaluate(qrels, fuse([dense, sparse], [w, 1 - w], method), [metric])[metric]}
        for w in weights
    ]
    return pd.DataFrame(rows)


def best_weight(curve, metric: str = "ndcg@10") -> float:
    """The weight of a :func:`fusion_sweep` table with the best ``metric``.

    Of equal scores it takes the weight nearest 0.5 (the most even mix), then the lower one: a flat
    stretch of the curve says the data cannot tell those weights apart, so none is pushed to an end.
    """
    rows = zip(curve["weight"], curve[metric])
    return float(max(rows, key=lambda r: (r[1], -abs(r[0] - 0.5), -r[0]))[0])


def choose_fusion_weight(
    qrels, sparse: Run, dense: Run, grid: Iterable[float] | None = None, norm: str = "minmax", metric: str = "ndcg@10"
):
    """The dense weight of ``sparse`` + ``dense`` fusion (scores normalised by ``norm``) that ranks best on
    ``qrels`` (validation judgements, never test), and the whole sweep: (weight, :func:`fusion_sweep` table)."""
    grid = np.round(np.linspace(0, 1, 11), 2) if grid is None else list(grid)
    curve = fusion_sweep(dense, sparse, qrels, grid, method=norm, metric=metric)
    return best_weight(curve, metric), curve


def plot_pruning(curves: dict, points: dict | None = None, title: str = "Index size against quality"):
    """nDCG@10 against average non-zeros per document, one line per model (labels: N kept).

    ``curves``: name -> :func:`pruning_curve` table; ``points``: name -> (non-zeros, nDCG@10) markers.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=100)
    for i, (name, df) in enumerate(curves.items()):
        ax.plot(df["avg_nnz"], df["ndcg@10"], marker="o", ms=4, color=f"C{i}", label=name)
        last = None
        for n, x, y in zip(df["top_n"], df["avg_nnz"], df["ndcg@10"]):
            if last is None or x > last * 1.05:  # skip labels of points on top of each other
                ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(3, -9), fontsize=7, color=f"C{i}")
                last = x
    for j, (name, (x, y)) in enumerate((points or {}).items()):
        ax.scatter([x], [y], marker="s", color=f"C{len(curves) + j}", label=name, zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("average non-zeros per document (log scale)")
    ax.set_ylabel("nDCG@10")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_fusion(curves: dict, rrf_scores: dict | None = None, metric: str = "ndcg@10"):
    """One line per pair of runs: ``metric`` against the weight on dense; dashed lines: RRF."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.2), dpi=100)
    for i, (name, df) in enumerate(curves.items()):
        ax.plot(df["weight"], df[metric], marker="o", ms=3, color=f"C{i}", label=f"{name}: weighted")
        if rrf_scores and name in rrf_scores:
            ax.axhline(rrf_scores[name], ls="--", color=f"C{i}", lw=1, label=f"{name}: RRF (k=60)")
    ax.set_xlabel("weight on dense (0 = sparse only, 1 = dense only)")
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    ax.set_title("Dense + sparse score fusion", fontsize=10)
    fig.tight_layout()
    return fig
