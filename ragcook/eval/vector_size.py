"""Notebook 14: how big must a vector be? Truncation curves, quantised indexes, static models.

Every experiment scores runs on one dataset (InsuranceQA test in the notebook) with the course's
metrics and paired tests. Vectors come from :class:`~ragcook.retrieve.dense.Dense`, cut to
``MAX_SEQ_LENGTH`` tokens as in notebooks 08-10, and cached on disk. Search speed is measured on
a synthetic corpus (random unit vectors), since 2,000 test answers are too few to time anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ragcook.data import Dataset
from ragcook.eval.metrics import per_query
from ragcook.eval.stats import bootstrap_ci, paired_test
from ragcook.retrieve.dense import Dense
from ragcook.retrieve.quantized import CompressedDense, bytes_per_vector, memory_bytes, searcher, to_run, truncate
from ragcook.retrieve.topk import search
from ragcook.types import Run

#: Passage length for every model here (the fine-tuning notebooks evaluate at 128 tokens too).
MAX_SEQ_LENGTH = 128


@dataclass
class Encoded:
    """A dataset's query and document vectors from one model (unit float32 rows)."""

    query_ids: list[str]
    queries: np.ndarray
    doc_ids: list[str]
    docs: np.ndarray


def encode_split(ds: Dataset, model, max_seq_length: int | None = MAX_SEQ_LENGTH) -> Encoded:
    """Query and document vectors of ``ds`` from ``model``, from the cache when it has them."""
    dense = Dense(str(model), max_seq_length=max_seq_length, show_progress=False)
    qids, dids = list(ds.queries), list(ds.corpus)
    return Encoded(qids, dense.encode([ds.queries[q] for q in qids]), dids, dense.encode([ds.corpus[d] for d in dids]))


# --------------------------------------------------------------------------- 1. truncation (Matryoshka)


def truncation_runs(enc: Encoded, dims, k: int = 100) -> dict[int, Run]:
    """Exact search with queries and documents cut to each of ``dims`` and renormalised: dim -> run."""
    return {d: search(truncate(enc.queries, d), truncate(enc.docs, d), enc.query_ids, enc.doc_ids, k) for d in dims}


def scores_by_size(ds: Dataset, runs: dict[str, dict[int, Run]], metric: str = "ndcg@10") -> pd.DataFrame:
    """One row per (model, dimension): the mean of ``metric`` and its 95% bootstrap interval."""
    rows = []
    for model, by_dim in runs.items():
        for dim, run in by_dim.items():
            values = per_query(ds.qrels, run, [metric])[metric]
            lo, hi = bootstrap_ci(values.values())
            rows.append({"model": model, "dim": dim, metric: float(np.mean(list(values.values()))), "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def plot_by_size(table: pd.DataFrame, metric: str = "ndcg@10", title: str = ""):
    """``metric`` against the number of dimensions, one line per model, 95% intervals shaded."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for model, part in table.groupby("model", sort=False):
        part = part.sort_values("dim")
        (line,) = ax.plot(part["dim"], part[metric], marker="o", label=model)
        ax.fill_between(part["dim"], part["ci_low"], part["ci_high"], color=line.get_color(), alpha=0.15)
    dims = sorted(table["dim"].unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(dims, [str(d) for d in dims])
    ax.minorticks_off()
    ax.set_xlabel("dimensions kept (first d, renormalised)")
    ax.set_ylabel(f"{metric} (95% bootstrap interval)")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or f"{metric} by vector size", fontsize=10)
    fig.tight_layout()
    return fig


def compare(ds: Dataset, run_a: Run, run_b: Run, metric: str = "ndcg@10") -> dict[str, float]:
    """Paired randomisation test of ``metric``, ``run_b`` minus ``run_a`` on the same questions."""
    a, b = (per_query(ds.qrels, r, [metric])[metric] for r in (run_a, run_b))
    return paired_test(a, b)


# --------------------------------------------------------------------------- 2. quantisation


@dataclass(frozen=True)
class Variant:
    """One way to store the index: the first ``dim`` numbers (None: all), a precision, a rescoring factor."""

    name: str
    dim: int | None = None
    precision: str = "float32"
    rescore: int = 0  #: candidates taken = rescore * k, rescored with the float query (0: none)


def variants(full_dim: int = 384, rescore: int = 4, matryoshka_dims=(128, 64)) -> list[Variant]:
    """The notebook's rows: float32, int8 and binary with and without rescoring, and truncated float32."""
    return [
        Variant(f"{full_dim} float32"),
        Variant(f"{full_dim} int8", precision="int8"),
        Variant(f"{full_dim} int8 + rescore", precision="int8", rescore=rescore),
        Variant(f"{full_dim} binary", precision="binary"),
        Variant(f"{full_dim} binary + rescore", precision="binary", rescore=rescore),
        *[Variant(f"{d} float32 (Matryoshka)", dim=d) for d in matryoshka_dims],
    ]


def variant_runs(enc: Encoded, specs: list[Variant], k: int = 100) -> dict[str, Run]:
    """Each variant's run over the encoded dataset."""
    out = {}
    for v in specs:
        find = searcher(enc.docs, v.dim, v.precision, v.rescore)
        out[v.name] = to_run(*find(enc.queries, k), enc.query_ids, enc.doc_ids)
    return out


def synthetic_vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """``n`` random unit vectors (Gaussian directions): a stand-in corpus for timing only."""
    v = np.random.default_rng(seed).standard_normal((n, dim), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def queries_per_second(find: Callable, queries: np.ndarray, k: int = 10, min_seconds: float = 0.2) -> float:
    """Queries answered per second by ``find(queries, k)``, repeated until ``min_seconds`` have passed."""
    find(queries[:2], k)  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        find(queries, k)
        n += len(queries)
        if (elapsed := time.perf_counter() - t0) >= min_seconds:
            return n / elapsed


def search_speeds(
    specs: list[Variant], dim: int = 384, n_docs: int = 50_000, n_queries: int = 100, k: int = 10
) -> dict[str, float]:
    """Queries/s of each variant over ``n_docs`` synthetic vectors of ``dim`` numbers (index building not timed)."""
    docs = synthetic_vectors(n_docs, dim, seed=0)
    queries = synthetic_vectors(n_queries, dim, seed=1)
    return {v.name: queries_per_second(searcher(docs, v.dim, v.precision, v.rescore), queries, k) for v in specs}


def precision_table(ds: Dataset, runs: dict[str, Run], specs: list[Variant], full_dim: int, speeds: dict[str, float] | None = None,
                    baseline: str | None = None) -> pd.DataFrame:  # fmt: skip
    """Memory per million documents, nDCG@10, recall@10, queries/s and a paired test of nDCG@10 against ``baseline``."""
    baseline = baseline or specs[0].name
    metrics = ["ndcg@10", "recall@10"]
    pq = {name: per_query(ds.qrels, run, metrics) for name, run in runs.items()}
    rows = {}
    for v in specs:
        dim = v.dim or full_dim
        row = {
            "bytes/vector": bytes_per_vector(dim, v.precision),
            "MB per 1M docs": memory_bytes(1_000_000, dim, v.precision) / 1e6,
        }
        row.update({m: float(np.mean(list(pq[v.name][m].values()))) for m in metrics})
        if speeds:
            row["queries/s"] = speeds[v.name]
        if v.name != baseline:
            t = paired_test(pq[baseline]["ndcg@10"], pq[v.name]["ndcg@10"])
            row.update({"nDCG vs float32": t["diff"], "p_value": t["p_value"]})
        rows[v.name] = row
    return pd.DataFrame(rows).T


def plot_memory_quality(table: pd.DataFrame, title: str = ""):
    """nDCG@10 against memory per million documents (log scale), one marker per variant, named in the legend."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    markers = "osD^v<>phX"
    for i, (name, row) in enumerate(table.iterrows()):
        ax.scatter(row["MB per 1M docs"], row["ndcg@10"], marker=markers[i % len(markers)], s=60, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("index memory per million documents (MB, log scale)")
    ax.set_ylabel("nDCG@10")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the axes: no point hidden
    ax.set_title(title or "quality against memory", fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- 3. static embeddings


def texts_per_second(encode: Callable[[list[str]], np.ndarray], texts: list[str], min_seconds: float = 1.0) -> float:
    """Texts encoded per second by ``encode(texts)``, repeated until ``min_seconds`` have passed (no cache)."""
    encode(texts[:2])  # warm-up (loading, first call)
    n, t0 = 0, time.perf_counter()
    while True:
        encode(texts)
        n += len(texts)
        if (elapsed := time.perf_counter() - t0) >= min_seconds:
            return n / elapsed


def encoders(
    static_model, word_vectors, transformer="minilm", max_seq_length: int | None = MAX_SEQ_LENGTH
) -> dict[str, Callable]:
    """Three ``encode(texts) -> unit vectors`` functions, none cached: the transformer, model2vec, word2vec averages."""
    from ragcook.encode.static import encode_static, mean_word_vectors
    from ragcook.models import load_sentence_transformer

    model = load_sentence_transformer(transformer)
    if max_seq_length:
        model.max_seq_length = max_seq_length
    return {
        "MiniLM (transformer)": lambda texts: model.encode(list(texts), batch_size=64, normalize_embeddings=True),
        "model2vec (static, distilled)": lambda texts: encode_static(static_model, texts),
        "word2vec average (static)": lambda texts: mean_word_vectors(word_vectors, texts),
    }


def vectors_run(ds: Dataset, encode: Callable[[list[str]], np.ndarray], k: int = 100) -> Run:
    """Exact search with vectors from any ``encode(texts) -> unit vectors`` (static models, word2vec averages)."""
    qids, dids = list(ds.queries), list(ds.corpus)
    return search(encode([ds.queries[q] for q in qids]), encode([ds.corpus[d] for d in dids]), qids, dids, k)


# --------------------------------------------------------------------------- runs for the leaderboard


def matryoshka_run(ds: Dataset, dim: int = 128, k: int = 100, max_seq_length: int | None = MAX_SEQ_LENGTH) -> Run:
    """The Matryoshka model (trained and cached on first use) with vectors cut to ``dim``: a leaderboard row.

    The vectors are :func:`encode_split`'s, so notebook 14's cache serves notebook 17.
    """
    from ragcook.train.matryoshka import ensure_matryoshka

    return truncation_runs(encode_split(ds, ensure_matryoshka(), max_seq_length), [dim], k)[dim]


def binary_rescore_run(ds: Dataset, model=None, k: int = 100, rescore_multiplier: int = 4,
                       max_seq_length: int | None = MAX_SEQ_LENGTH) -> Run:  # fmt: skip
    """Binary index + rescoring with ``model`` (default: the Matryoshka model): a leaderboard row."""
    from ragcook.train.matryoshka import ensure_matryoshka

    model = model or ensure_matryoshka()
    retriever = CompressedDense(
        str(model), precision="binary", rescore_multiplier=rescore_multiplier, max_seq_length=max_seq_length
    )
    return retriever.index(ds.corpus).search(ds.queries, k)
