"""Notebook 15's experiments: late interaction against one vector per text, and BGE-M3's "all" mode.

- :func:`simplex_grid` and :func:`choose_weights`: the three modes' weights, picked on validation
  queries by a grid over the simplex (every ``(w1, w2, w3) >= 0`` adding up to 1);
- :func:`index_row`, :func:`index_table`, :func:`speed` and :func:`speed_table`: what an index costs
  (vectors, bytes) and how fast it is;
- :func:`plot_quality_vs_size`: quality against index size, with 95% intervals;
- :func:`multivector_run` and :func:`all_mode_run`: the runs the final leaderboard adds.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
import pandas as pd

from ragcook.data import Dataset, load_insuranceqa
from ragcook.encode.multivector import MultiVectorModel, TokenVectors
from ragcook.encode.sparse import M3Encoder
from ragcook.errors import RagcookError
from ragcook.eval.finetune import subset
from ragcook.eval.metrics import evaluate
from ragcook.retrieve.multivector import MODES, MultiVector, ThreeModes, weighted_modes
from ragcook.retrieve.topk import scores_to_run, search
from ragcook.train.multivector import MultiVectorConfig, ensure_multivector
from ragcook.types import Run


def simplex_grid(step: float = 0.1, n: int = 3) -> list[tuple[float, ...]]:
    """Every weight vector of ``n`` non-negative multiples of ``step`` that add up to 1."""
    parts = round(1 / step)
    if parts < 1 or abs(parts * step - 1) > 1e-9:
        raise RagcookError(f"simplex_grid: 1 / step must be a whole number, got step={step}")

    def split(total: int, k: int):
        if k == 1:
            yield (total,)
            return
        for first in range(total, -1, -1):
            for rest in split(total - first, k - 1):
                yield (first, *rest)

    return [tuple(round(c / parts, 10) for c in combo) for combo in split(parts, n)]


def choose_weights(
    scores: dict[str, np.ndarray],
    ds: Dataset,
    grid: list[tuple[float, ...]],
    modes: tuple[str, ...] = MODES,
    metric: str = "ndcg@10",
) -> tuple[tuple[float, ...], pd.DataFrame]:
    """The grid point whose weighted score (:func:`weighted_modes`) ranks ``ds`` best by ``metric``.

    ``scores`` are the modes' (queries x documents) matrices over ``ds``. Ties go to the first grid
    point. Returns the weights and the table of every grid point, best first.
    """
    qids, doc_ids = list(ds.queries), list(ds.corpus)
    k = int(metric.split("@")[1]) if "@" in metric else 100
    rows = []
    for w in grid:
        run = scores_to_run(weighted_modes(scores, dict(zip(modes, w))), qids, doc_ids, k)
        rows.append({**dict(zip(modes, w)), metric: evaluate(ds.qrels, run, [metric])[metric]})
    table = pd.DataFrame(rows)
    best = int(np.argmax(table[metric].to_numpy()))  # argmax: the first of equal scores
    order = table[metric].rank(ascending=False, method="first").sort_values().index
    return tuple(grid[best]), table.loc[order].reset_index(drop=True)


def mode_runs(scores: dict[str, np.ndarray], ds: Dataset, k: int = 100) -> dict[str, Run]:
    """One run per mode, from its (queries x documents) score matrix over ``ds``."""
    return {mode: scores_to_run(s, list(ds.queries), list(ds.corpus), k) for mode, s in scores.items()}


def dense_search(modes: ThreeModes, queries: dict[str, str], k: int = 100) -> Run:
    """The dense half of ``modes`` alone: encode the queries, exact cosine search (a first stage to rerank)."""
    q_dense, _ = modes.m3.encode(list(queries.values()))
    return search(q_dense, modes.doc_dense, list(queries), modes.doc_ids, k)


def weighted_run(scores: dict[str, np.ndarray], ds: Dataset, weights: tuple[float, ...], k: int = 100) -> Run:
    """The run of :func:`weighted_modes` with ``weights`` in the order of ``scores``' modes."""
    return scores_to_run(weighted_modes(scores, dict(zip(scores, weights))), list(ds.queries), list(ds.corpus), k)


def explain_maxsim(encoder: MultiVectorModel, query: str, doc: str) -> pd.DataFrame:
    """For each query token, the document token it matched best and their cosine: MaxSim's terms."""
    q, d = encoder.encode_queries([query]), encoder.encode_documents([doc])
    q_tokens, d_tokens = encoder.tokens(query, task="query"), encoder.tokens(doc)
    if len(q_tokens) != q.n_vectors or len(d_tokens) != d.n_vectors:
        raise RagcookError("explain_maxsim: tokens and vectors do not line up (a skiplist or query expansion?)")
    sims = q[0] @ d[0].T
    best = sims.argmax(axis=1)
    return pd.DataFrame({"query token": q_tokens, "best document token": [d_tokens[j] for j in best], "cos": sims.max(axis=1)})


def index_row(name: str, n_docs: int, vectors: int, dim: int | None = None, nbytes: int | None = None) -> dict:
    """One row of the index-size table: vectors stored, bytes at float32, and both per document."""
    nbytes = nbytes if nbytes is not None else vectors * int(dim) * 4
    return {
        "index": name,
        "vectors": vectors,
        "vectors / doc": vectors / n_docs,
        "MB": nbytes / 1e6,
        "bytes / doc": nbytes / n_docs,
    }


def token_index_row(name: str, docs: TokenVectors) -> dict:
    """:func:`index_row` of a multi-vector index."""
    return index_row(name, len(docs), docs.n_vectors, nbytes=docs.nbytes)


@contextmanager
def no_cache():
    """Switch :func:`ragcook.cache.cached` off inside the block, to time real encoding."""
    old = os.environ.get("RAGCOOK_NO_CACHE")
    os.environ["RAGCOOK_NO_CACHE"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("RAGCOOK_NO_CACHE", None)
        else:
            os.environ["RAGCOOK_NO_CACHE"] = old


def speed(encode_docs, search, docs: list[str], queries: dict[str, str]) -> dict:
    """Documents encoded per second and queries answered per second (encoding + scoring), uncached.

    ``encode_docs(texts)`` encodes documents, ``search(queries)`` answers queries against an index.
    """
    with no_cache():
        t = time.perf_counter()
        encode_docs(docs)
        enc = len(docs) / (time.perf_counter() - t)
        t = time.perf_counter()
        search(queries)
        qps = len(queries) / (time.perf_counter() - t)
    return {"docs / s": enc, "queries / s": qps}


def index_table(modes: ThreeModes) -> pd.DataFrame:
    """What each system of an indexed :class:`ThreeModes` stores: dense, sparse (CSR), multi-vector, all three.

    The sparse index counts its CSR arrays (a float32 weight and an int32 token id per non-zero,
    plus the row pointers); "vectors" there means non-zero weights.
    """
    if modes.doc_dense is None or modes.multi.docs is None:
        raise RagcookError("index_table: call modes.index(corpus) first")
    n = len(modes.doc_ids)
    sp_ = modes.doc_sparse
    sparse_bytes = sp_.data.size * 4 + sp_.indices.size * 4 + sp_.indptr.size * 4
    rows = [
        index_row("dense", n, n, dim=modes.doc_dense.shape[1]),
        index_row("sparse", n, int(sp_.nnz), nbytes=sparse_bytes),
        token_index_row("multi-vector", modes.multi.docs),
    ]
    total = {"index": "all three", "vectors": None, "vectors / doc": None}
    total["MB"] = sum(r["MB"] for r in rows)
    total["bytes / doc"] = sum(r["bytes / doc"] for r in rows)
    return pd.DataFrame([*rows, total]).set_index("index")


def speed_table(modes: ThreeModes, ds: Dataset, n_docs: int = 64, n_queries: int = 50) -> pd.DataFrame:
    """Documents encoded per second and queries answered per second, uncached, for dense, multi-vector and all.

    Documents are the first ``n_docs`` of ``ds``'s corpus; queries, the first ``n_queries``, are
    encoded and scored against the whole indexed corpus (exact search), which is what a user waits for.
    """
    docs = list(ds.corpus.values())[:n_docs]
    queries = dict(list(ds.queries.items())[:n_queries])
    st, multi = modes.m3.model, modes.multi

    def dense_docs(texts):
        return st.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)

    def dense_queries(qs):
        return search(dense_docs(list(qs.values())), modes.doc_dense, list(qs), modes.doc_ids, 100)

    def all_docs(texts):
        return modes.m3.encode(texts), multi.encoder.encode_documents(texts)

    rows = {
        "dense": speed(dense_docs, dense_queries, docs, queries),
        "multi-vector": speed(multi.encoder.encode_documents, multi.search, docs, queries),
        "all three": speed(all_docs, modes.search, docs, queries),
    }
    return pd.DataFrame(rows).T


def plot_quality_vs_size(table: pd.DataFrame, metric: str = "ndcg@10", title: str = ""):
    """``metric`` (with its 95% interval) against the index's megabytes, one marker per system, log x."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    markers = "osD^vP*Xh<>"
    for i, (name, row) in enumerate(table.iterrows()):
        err = [[row[metric] - row[f"{metric} ci_low"]], [row[f"{metric} ci_high"] - row[metric]]]
        ax.errorbar(row["MB"], row[metric], yerr=err, fmt=markers[i % len(markers)], capsize=3, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("index size (MB at float32, log scale)")
    ax.set_ylabel(f"{metric} (95% bootstrap interval)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- for the leaderboard


DOCUMENT_LENGTH = 256  # the dense MiniLM's max_seq_length, so every system reads the same tokens of a document


@lru_cache(maxsize=2)
def _trained_path(config: MultiVectorConfig) -> str:
    return str(ensure_multivector(config))


def multivector_run(ds: Dataset, config: MultiVectorConfig | None = None, k: int = 100) -> Run:
    """The trained multi-vector model's run on ``ds`` (exact MaxSim over the whole corpus)."""
    model = MultiVectorModel(_trained_path(config or MultiVectorConfig()), document_length=DOCUMENT_LENGTH)
    return MultiVector(model).index(ds.corpus).search(ds.queries, k)


def three_modes(config: MultiVectorConfig | None = None) -> ThreeModes:
    """The course's "all" mode: MiniLM's dense vector and sparse head, and the trained multi-vector model."""
    encoder = MultiVectorModel(_trained_path(config or MultiVectorConfig()), document_length=DOCUMENT_LENGTH)
    multi = MultiVector(encoder)
    return ThreeModes(M3Encoder("minilm"), multi)


VALID_DOCS = 1000  # half of valid's answers: each is encoded three ways, the costliest step of the choice


def validation_set(n_docs: int = VALID_DOCS) -> Dataset:
    """Where the "all" mode's weights are chosen: every InsuranceQA *valid* question, over ``n_docs`` of its answers.

    The questions' own answers are all kept and the rest is a fixed random draw of valid's other answers
    (:func:`ragcook.eval.finetune.subset`), so the grid sees the same kind of distractors at half the encoding.
    """
    valid = load_insuranceqa("valid")
    return subset(valid, n_queries=len(valid.queries), n_docs=n_docs)


def validation_weights(config: MultiVectorConfig | None = None, step: float = 0.1) -> tuple[tuple[float, ...], pd.DataFrame]:
    """The "all" mode's weights chosen on :func:`validation_set` (never test), and the grid's table."""
    valid = validation_set()
    modes = three_modes(config).index(valid.corpus)
    return choose_weights(modes.mode_scores(valid.queries), valid, simplex_grid(step))


def all_mode_run(
    ds: Dataset, config: MultiVectorConfig | None = None, weights: tuple[float, ...] | None = None, k: int = 100
) -> Run:
    """BGE-M3's "all" mode on ``ds``, with ``weights`` (dense, sparse, multi-vector), by default chosen on valid."""
    modes = three_modes(config)
    modes.weights = tuple(weights) if weights is not None else validation_weights(config)[0]
    return modes.index(ds.corpus).search(ds.queries, k)
