"""The course's leaderboard: many runs on one dataset, with intervals and paired tests.

A mean over 500 questions moves by a point or two with the sample of questions alone, so each
row carries a 95% bootstrap interval, and each system is compared with a baseline on the *same*
questions (paired randomisation test), which is far more sensitive than comparing two intervals.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from ragcook.data import Dataset
from ragcook.eval.metrics import DEFAULT_METRICS, per_query
from ragcook.eval.stats import bootstrap_ci, paired_test
from ragcook.types import Run


def timed_runs(ds: Dataset, builders: dict[str, Callable[[], Run]]) -> tuple[dict[str, Run], dict[str, float]]:
    """Call each builder (a function returning a run) and time it: name -> run, name -> seconds."""
    runs, seconds = {}, {}
    for name, build in builders.items():
        t = time.perf_counter()
        runs[name] = build()
        seconds[name] = time.perf_counter() - t
    return runs, seconds


def leaderboard(
    ds: Dataset,
    runs: dict[str, Run],
    baseline: str,
    metric: str = "ndcg@10",
    metrics=DEFAULT_METRICS,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per run, best first: every metric, a bootstrap interval of ``metric``, and a paired test
    of ``metric`` against ``baseline`` (difference, its interval, p-value)."""
    if baseline not in runs:
        raise KeyError(f"baseline {baseline!r} is not among the runs: {', '.join(runs)}")
    pq = {name: per_query(ds.qrels, run, metrics) for name, run in runs.items()}
    rows = {}
    for name in runs:
        row = {m: float(pd.Series(pq[name][m]).mean()) for m in metrics}
        row[f"{metric} ci_low"], row[f"{metric} ci_high"] = bootstrap_ci(pq[name][metric].values(), seed=seed)
        if name != baseline:
            t = paired_test(pq[baseline][metric], pq[name][metric], seed=seed)
            row.update(
                {f"vs {baseline}": t["diff"], "diff ci_low": t["ci_low"], "diff ci_high": t["ci_high"], "p_value": t["p_value"]}
            )
        rows[name] = row
    return pd.DataFrame(rows).T.sort_values(metric, ascending=False)


def plot(table: pd.DataFrame, metric: str = "ndcg@10", title: str = ""):
    """Horizontal bars of ``metric`` with their 95% intervals, best on top."""
    import matplotlib.pyplot as plt

    t = table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(t) + 1.2))
    err = [t[metric] - t[f"{metric} ci_low"], t[f"{metric} ci_high"] - t[metric]]
    ax.barh(t.index, t[metric], xerr=err, capsize=3, color="#4c72b0")
    for y, (v, hi) in enumerate(zip(t[metric], t[f"{metric} ci_high"])):  # right of the interval, never on it
        ax.text(hi + 0.015, y, f"{v:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, min(1.0, float(t[f"{metric} ci_high"].max()) + 0.12))
    ax.set_xlabel(f"{metric} (95% bootstrap interval)")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def verdicts(table: pd.DataFrame, baseline: str, alpha: float = 0.05) -> list[str]:
    """Plain sentences, one per run, read off the paired tests."""
    out = []
    for name, row in table.iterrows():
        if name == baseline:
            continue
        diff, p = row[f"vs {baseline}"], row["p_value"]
        if p < alpha:
            word = "better than" if diff > 0 else "worse than"
            out.append(f"{name} is {word} {baseline} by {abs(diff):.3f} (p = {p:.4f})")
        else:
            out.append(f"{name} is not distinguishable from {baseline} on these questions ({diff:+.3f}, p = {p:.2f})")
    return out
