"""Ranking metrics through ir-measures (pytrec_eval underneath), plus paired comparisons.

The names the course reports and what they mean:

- ``hit@k``    1 if any relevant document is in the top k (the "hit rate" of LlamaIndex), else 0
- ``recall@k`` relevant documents in the top k / all relevant documents of the query
- ``mrr@10``   1 / rank of the first relevant document if it is in the top 10, else 0
- ``ndcg@10``  discounted cumulative gain of the top 10 over that of the ideal ranking
- ``map``      mean average precision over the whole run

Every figure is a mean over queries; a query the run left out counts as 0. Paired tests
and intervals are :mod:`ragcook.eval.stats`.
"""

from __future__ import annotations

import math

import numpy as np

from ragcook.errors import RagcookError
from ragcook.types import Qrels, Run

DEFAULT_METRICS = ("ndcg@10", "recall@10", "mrr@10", "hit@10", "map")


def _measure(name: str):
    import ir_measures as irm

    base, _, cut = name.lower().partition("@")
    k = int(cut) if cut else None
    table = {
        "ndcg": lambda: irm.nDCG @ k if k else irm.nDCG,
        "recall": lambda: irm.R @ k if k else irm.R,
        "mrr": lambda: irm.RR @ k if k else irm.RR,
        "hit": lambda: irm.Success @ k if k else irm.Success,
        "map": lambda: irm.AP @ k if k else irm.AP,
        "precision": lambda: irm.P @ k if k else irm.P,
    }
    if base not in table:
        raise RagcookError(f"unknown metric {name!r}; use ndcg, recall, mrr, hit, map or precision, with @k")
    return table[base]()


def per_query(qrels: Qrels, run: Run, metrics=DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """metric -> {query id: value}, for every judged query (missing ones score 0)."""
    import ir_measures as irm

    if not qrels:
        raise RagcookError("evaluate: qrels are empty")
    measures = {m: _measure(m) for m in metrics}
    by_measure = {v: k for k, v in measures.items()}
    # pytrec_eval breaks score ties by document id; give it strictly ranked scores instead,
    # so every library that reads our run sees the same order we do.
    ranked = {
        q: {d: float(len(docs) - i) for i, (d, _) in enumerate(sorted(docs.items(), key=lambda x: (-x[1], x[0])))}
        for q, docs in run.items()
    }
    out = {m: {q: 0.0 for q in qrels} for m in metrics}
    for row in irm.iter_calc(list(measures.values()), qrels, ranked):
        if row.query_id in qrels:
            out[by_measure[row.measure]][row.query_id] = float(row.value)
    return out


def evaluate(qrels: Qrels, run: Run, metrics=DEFAULT_METRICS) -> dict[str, float]:
    """metric -> mean over the judged queries."""
    pq = per_query(qrels, run, metrics)
    return {m: float(np.mean(list(v.values()))) for m, v in pq.items()}


def compare(qrels: Qrels, runs: dict[str, Run], metrics=DEFAULT_METRICS):
    """A pandas table, one row per run and one column per metric (arguments in :func:`evaluate`'s order)."""
    import pandas as pd

    return pd.DataFrame({name: evaluate(qrels, run, metrics) for name, run in runs.items()}).T


# Hand-written versions, for teaching: the notebooks check them against ir-measures.


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    """nDCG@k with gain = grade and discount 1 / log2(rank + 1)."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def reciprocal_rank(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if relevant.get(d, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def biggest_differences(a: dict[str, float], b: dict[str, float], n: int = 3) -> list[tuple[str, float]]:
    """The ``n`` queries where ``b`` beats ``a`` by the most: (query id, b - a), largest first."""
    diffs = [(q, b.get(q, 0.0) - a.get(q, 0.0)) for q in a]
    return sorted([d for d in diffs if d[1] > 0], key=lambda x: (-x[1], x[0]))[:n]
