"""Notebook 13's experiments on reranking: runs reranked at several depths, hit rates, latency.

:func:`rerank` is the one call for a leaderboard row: a dataset and a first-stage run in, the
run reranked by the course's cross-encoder (or any cross-encoder folder) out.
:func:`reranked_runs` scores each query's deepest candidate list once and reorders it at every
depth asked for; :func:`lift` gives the paired tests against the first stage. :func:`hit_rates` and :func:`plot_hit_rates` answer "good top 20, unreliable
top 1?"; :func:`latency` times one query at a time, as a live system would serve it, and
:func:`backend_agreement` says how alike two backends of one cross-encoder order the same candidates.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

import numpy as np

from ragcook.data import Dataset
from ragcook.eval.leaderboard import leaderboard
from ragcook.eval.metrics import evaluate
from ragcook.retrieve.rerank import CrossEncoderScorer, Scorer, pair_scores, rerank_run
from ragcook.retrieve.topk import top_k
from ragcook.types import Qrels, Run


def scorer_for(cross_encoder: str | os.PathLike | Scorer | None = None) -> Scorer:
    """A pair scorer: the course's cross-encoder when ``None`` (trained and cached on first use), a folder, or a scorer."""
    if cross_encoder is None:
        from ragcook.train.cross_encoder import ensure_cross_encoder

        cross_encoder = ensure_cross_encoder()
    return cross_encoder if callable(cross_encoder) else CrossEncoderScorer(cross_encoder)


def reranked_runs(
    ds: Dataset,
    first: Run,
    cross_encoder: str | os.PathLike | Scorer | None = None,
    depths: Iterable[int] = (20, 50),
    k: int = 100,
) -> dict[int, Run]:
    """depth -> ``first`` with its top ``depth`` reordered by the cross-encoder (pairs scored once, at the deepest)."""
    depths = sorted(set(depths))
    scores = pair_scores(first, ds.queries, ds.corpus, scorer_for(cross_encoder), depths[-1])
    return {d: rerank_run(first, scores, d, k) for d in depths}


def rerank(
    ds: Dataset, first: Run, cross_encoder: str | os.PathLike | Scorer | None = None, depth: int = 20, k: int = 100
) -> Run:
    """``first`` reranked at ``depth`` by the course's cross-encoder (or ``cross_encoder``): a leaderboard row."""
    return reranked_runs(ds, first, cross_encoder, [depth], k)[depth]


def lift(ds: Dataset, runs: dict[str, Run], baseline: str, metrics: Iterable[str] = ("ndcg@10", "mrr@10")):
    """Each run's metrics and, for each metric, its paired difference from ``baseline`` and the p-value.

    The paired randomisation test of :func:`ragcook.eval.leaderboard.leaderboard`, once per metric;
    rows keep the order of ``runs``.
    """
    import pandas as pd

    metrics = list(metrics)
    cols = {}
    for m in metrics:
        t = leaderboard(ds, runs, baseline, metric=m, metrics=metrics)
        cols.update({m: t[m], f"{m} vs {baseline}": t[f"vs {baseline}"], f"{m} p": t["p_value"]})
    return pd.DataFrame(cols).loc[list(runs)]


def hit_rates(qrels: Qrels, runs: dict[str, Run], ks: Iterable[int] = (1, 20)):
    """Share of questions with an answer in the top k, one row per run and one column per k."""
    import pandas as pd

    ks = list(ks)
    rows = {name: evaluate(qrels, run, [f"hit@{k}" for k in ks]) for name, run in runs.items()}
    return pd.DataFrame(rows).T.rename(columns={f"hit@{k}": f"top {k}" for k in ks})


def top1_changes(qrels: Qrels, before: Run, after: Run) -> dict[str, list[str]]:
    """Questions whose first answer became right (``fixed``) or wrong (``broken``) between two runs."""

    def right(run: Run, q: str) -> bool:
        docs = run.get(q, {})
        return bool(docs) and qrels[q].get(max(docs, key=docs.get), 0) > 0

    fixed = [q for q in qrels if right(after, q) and not right(before, q)]
    broken = [q for q in qrels if right(before, q) and not right(after, q)]
    return {"fixed": fixed, "broken": broken}


def plot_hit_rates(table, title: str = ""):
    """Grouped bars: for each run, the share of questions answered in its top k, for each k of the table."""
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    width = 0.8 / len(table.columns)
    x = np.arange(len(table))
    for i, col in enumerate(table.columns):
        bars = ax.bar(x + (i - (len(table.columns) - 1) / 2) * width, table[col], width, label=f"answer in the {col}")
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    ax.set_xticks(x, table.index, fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("hit rate (share of questions)")
    ax.legend(fontsize=8, loc="upper left", ncols=len(table.columns))
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def backend_agreement(
    a: Scorer, b: Scorer, queries: dict[str, str], corpus: dict[str, str], run: Run, depth: int
) -> dict[str, float]:
    """How alike two scorers (one cross-encoder in two backends, say) order each query's top ``depth`` of ``run``.

    Returns the number of pairs scored, the mean over queries of Spearman's rank correlation between the two
    scorers' scores of that query's candidates, and the number of queries whose best candidate is the same.
    """
    from scipy.stats import spearmanr

    rhos, same, n = [], 0, 0
    for q, docs in top_k({q: run[q] for q in queries}, depth).items():
        pairs = [(queries[q], corpus[d]) for d in docs]
        sa, sb = np.asarray(a(pairs)), np.asarray(b(pairs))
        rhos.append(float(spearmanr(sa, sb).statistic))
        same += int(sa.argmax() == sb.argmax())
        n += len(pairs)
    return {"pairs": n, "spearman": float(np.mean(rhos)), "same_top1": same}


def latency(
    first_stage, scorer: CrossEncoderScorer, queries: dict[str, str], corpus: dict[str, str], depths: Iterable[int], n: int = 10
):
    """Milliseconds per query, one query at a time: the first stage alone, then first stage + reranking at each depth.

    The cross-encoder runs uncached (``scorer.predict``), as it would on a new question. The
    first stage must be indexed already. Both are called once before the clock starts, so the first
    timed question pays no start-up (a session to open, a model to load).
    """
    import pandas as pd

    qids = list(queries)[:n]
    scorer.predict([("warm up", "the model")])
    first_stage.search({qids[0]: queries[qids[0]]}, k=1)  # and the first stage's query encoder
    first_ms, rows = [], {}
    for depth in sorted(set(depths)):
        total = 0.0
        for q in qids:
            t = time.perf_counter()
            hits = first_stage.search({q: queries[q]}, k=depth)[q]
            first = time.perf_counter() - t
            scorer.predict([(queries[q], corpus[d]) for d in hits])
            total += time.perf_counter() - t
            first_ms.append(first)
        rows[f"first stage + rerank top {depth}"] = 1000 * total / len(qids)
    rows = {"first stage only": 1000 * sum(first_ms) / len(first_ms), **rows}
    return pd.Series(rows, name="ms per query").to_frame()
