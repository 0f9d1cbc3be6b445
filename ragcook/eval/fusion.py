"""Notebook 17: a fusion default that does not hurt, chosen across every corpus the course has.

A hybrid weight tuned on one labelled corpus (0.7 on dense, on InsuranceQA) says nothing about a
reader's corpus, which has no labels. So the default must be safe everywhere: fused, it should
never fall more than ``tolerance`` (0.005 nDCG@10) below the better of its two parts. This module
scores every normalisation of :func:`ragcook.retrieve.fusion.fuse` at every weight on every corpus,
and picks the setting whose worst shortfall is smallest.

- :func:`corpora`: the course's corpora, each with its BM25 run and its dense run.
- :func:`fusion_table`: nDCG@10 of every (normalisation, weight) on every corpus.
- :func:`shortfalls` and :func:`choose_default`: how far each setting falls below the best single
  retriever, and the safest setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ragcook.cache import cache_dir
from ragcook.data.beir import load_beir
from ragcook.data.dataset import Dataset
from ragcook.data.insuranceqa import load_insuranceqa
from ragcook.data.pydoc import load_pydoc_modules, load_python_faq
from ragcook.data.statutes import statutes_beir
from ragcook.eval.chinese import as_dataset, bm25_run, e5_runs, m3_encoder, zh_splits
from ragcook.eval.late_chunking import context_eval
from ragcook.eval.metrics import per_query
from ragcook.eval.stats import paired_test
from ragcook.retrieve.bm25 import BM25
from ragcook.retrieve.dense import Dense
from ragcook.retrieve.fusion import fuse
from ragcook.retrieve.topk import top_k
from ragcook.types import Run


@dataclass(frozen=True)
class Setting:
    """One way to fuse a BM25 run with a dense run: a normalisation, the dense weight, RRF's ``k``."""

    norm: str
    weight: float
    rrf_k: int = 60

    @property
    def label(self) -> str:
        norm = f"rrf k={self.rrf_k}" if self.norm == "rrf" else self.norm
        return f"{norm}, dense {self.weight:g}"


WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def settings(weights=WEIGHTS, rrf_ks=(10, 60)) -> list[Setting]:
    """Every normalisation at every dense weight (RRF once per ``k``)."""
    norms = [("minmax", 60), ("zscore", 60), ("atan", 60)] + [("rrf", k) for k in rrf_ks]
    return [Setting(n, float(w), k) for n, k in norms for w in weights]


def _without(run: Run, ignore: dict[str, set[str]]) -> Run:
    """``run`` with each query's ignored documents removed (notebook 12's rule: chunks naming the subject)."""
    return {q: {d: s for d, s in docs.items() if d not in ignore.get(q, ())} for q, docs in run.items()}


def _english(ds: Dataset, model: str = "minilm", k: int = 100) -> dict[str, Run]:
    return {
        "bm25": BM25(lang="en").index(ds.corpus).search(ds.queries, k),
        "dense": Dense(model, show_progress=False).index(ds.corpus).search(ds.queries, k),
    }


def _chinese(ds: Dataset, k: int = 100) -> dict[str, Run]:
    dense, _, _ = e5_runs(m3_encoder(), ds, k)  # notebook 16's pass (dense and sparse at once), from its cache
    return {"bm25": bm25_run(ds, k), "dense": dense}


def corpora(k: int = 100) -> dict[str, tuple[Dataset, dict[str, Run]]]:
    """name -> (dataset, {"bm25": run, "dense": run}) for each corpus of the course.

    English corpora get stemmed BM25 and all-MiniLM-L6-v2; Chinese ones jieba BM25 and
    multilingual-e5-small with its prompts. Vectors come from the cache the earlier notebooks built.
    """
    out = {}
    ds = load_insuranceqa("test")
    out["InsuranceQA (en)"] = ds, _english(ds, k=k)
    zh, _ = zh_splits()
    out["InsuranceQA (zh, MT)"] = zh, _chinese(zh, k=k)
    faq = load_python_faq()
    out["Python FAQ"] = faq, _english(faq, k=k)
    ev = context_eval(load_pydoc_modules(), max_chars=300)
    pydoc = as_dataset(ev, name="pydoc-chunks")
    out["Python docs chunks"] = pydoc, {name: _without(r, ev.ignore) for name, r in _english(pydoc, k=k).items()}
    folder = statutes_beir(cache_dir() / "statutes-beir", n_laws=20, n_queries=200)
    statutes = load_beir(folder, lang="zh")
    out["statutes (zh)"] = statutes, _chinese(statutes, k=k)
    return out


def _per_query(ds: Dataset, run: Run) -> dict[str, float]:
    """nDCG@10 of every query of ``ds`` (0 for a query the run does not answer)."""
    scores = per_query(ds.qrels, run, ("ndcg@10",))["ndcg@10"]
    return {q: scores.get(q, 0.0) for q in ds.qrels}


def _ndcg(ds: Dataset, run: Run) -> float:
    scores = _per_query(ds, run)
    return float(sum(scores.values()) / len(scores))


def _fused(runs: dict[str, Run], s: Setting) -> Run:
    return top_k(fuse([runs["bm25"], runs["dense"]], [1 - s.weight, s.weight], s.norm, rrf_k=s.rrf_k), 100)


def fusion_table(data: dict[str, tuple[Dataset, dict[str, Run]]], grid: list[Setting] | None = None) -> pd.DataFrame:
    """nDCG@10 of BM25 alone, dense alone and every fusion ``Setting`` (rows) on every corpus (columns)."""
    grid = settings() if grid is None else grid
    table: dict[str, dict[str, float]] = {}
    for name, (ds, runs) in data.items():
        col = {"bm25 alone": _ndcg(ds, runs["bm25"]), "dense alone": _ndcg(ds, runs["dense"])}
        for s in grid:
            col[s.label] = _ndcg(ds, _fused(runs, s))
        table[name] = col
    return pd.DataFrame(table)


def shortfalls(table: pd.DataFrame) -> pd.DataFrame:
    """How far each fusion row falls below the better single retriever, per corpus (positive = worse),
    with the worst corpus in column ``worst``; sorted, safest first."""
    fused = table.drop(index=["bm25 alone", "dense alone"])
    best_single = table.loc[["bm25 alone", "dense alone"]].max()
    out = best_single - fused
    out["worst"] = out.max(axis=1)
    return out.sort_values("worst")


def choose_default(
    table: pd.DataFrame, grid: list[Setting] | None = None, tolerance: float = 0.005
) -> tuple[Setting, float, bool]:
    """(the safest ``Setting``, its worst shortfall, whether that is within ``tolerance`` on every corpus)."""
    by_label = {s.label: s for s in (settings() if grid is None else grid)}
    s = shortfalls(table)
    worst = float(s["worst"].iloc[0])
    return by_label[s.index[0]], worst, worst <= tolerance


def against_best(data: dict[str, tuple[Dataset, dict[str, Run]]], setting: Setting) -> pd.DataFrame:
    """Per corpus: ``setting``'s fusion against the better single retriever there, with a paired test
    over the corpus's queries (is a shortfall more than noise?)."""
    rows = {}
    for name, (ds, runs) in data.items():
        single = {r: _per_query(ds, runs[r]) for r in ("bm25", "dense")}
        best = max(single, key=lambda r: sum(single[r].values()))
        t = paired_test(single[best], _per_query(ds, _fused(runs, setting)))
        rows[name] = {"queries": len(ds.qrels), "best single": best, "fused - best": t["diff"],
                      "ci_low": t["ci_low"], "ci_high": t["ci_high"], "p_value": t["p_value"]}  # fmt: skip
    return pd.DataFrame(rows).T


def plot_worst(short: pd.DataFrame, tolerance: float = 0.005, title: str = ""):
    """The worst shortfall over the corpora against the dense weight, one line per normalisation."""
    import matplotlib.pyplot as plt

    parts = short.index.str.rsplit(", dense ", n=1)
    frame = pd.DataFrame({"norm": parts.str[0], "weight": parts.str[1].astype(float), "worst": short["worst"]})
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for norm, g in frame.groupby("norm", sort=False):
        g = g.sort_values("weight")
        ax.plot(g["weight"], g["worst"], marker="o", ms=3, label=norm)
    ax.axhline(tolerance, ls="--", c="grey", lw=1)
    ax.text(0.1, tolerance, f" tolerance {tolerance}", va="bottom", fontsize=8, color="grey")
    ax.set_xlabel("weight of dense in the fusion (BM25 gets the rest)")
    ax.set_ylabel("worst nDCG@10 shortfall vs best single")
    ax.set_title(title or "How far fusion falls below the better retriever, on the worst corpus", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
