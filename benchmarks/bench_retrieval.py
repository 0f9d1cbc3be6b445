"""BM25 and dense search speed on the same data, in one run, with the ratios.

    python benchmarks/bench_retrieval.py [--profile small|full] [--repeat 3]

- BM25: bm25s vs rank_bm25 (same tokens: bm25s' English stop words and stemmer), index time and queries/s.
- Dense: FAISS ``IndexFlatIP`` vs NumPy brute force (``Q @ D.T`` + argpartition) over the same
  normalised MiniLM vectors, queries/s for top-100. Both are exact, so their top-10 agree.
Prints a table and writes ``benchmarks/results_retrieval.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="small", choices=["small", "full"], help="InsuranceQA test size for BM25")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--k", type=int, default=100)
    args = ap.parse_args()

    import bm25s
    import faiss
    import Stemmer
    from rank_bm25 import BM25Okapi

    from ragcook import data
    from ragcook.retrieve import Dense

    ds = data.load_insuranceqa("test", profile=args.profile)
    docs, queries = list(ds.corpus.values()), list(ds.queries.values())
    stem = Stemmer.Stemmer("english")
    tok = lambda texts: bm25s.tokenize(texts, stopwords="en", stemmer=stem, return_ids=False, show_progress=False)  # noqa: E731
    dtoks, qtoks = tok(docs), [t or ["<empty>"] for t in tok(queries)]
    rows = {}

    fast = bm25s.BM25()
    t_fast_index = best_of(lambda: fast.index(dtoks, show_progress=False), 1)
    t_fast = best_of(lambda: fast.retrieve(qtoks, k=args.k, show_progress=False, n_threads=1), args.repeat)
    slow_holder = {}
    t_slow_index = best_of(lambda: slow_holder.setdefault("m", BM25Okapi(dtoks)), 1)
    slow = slow_holder["m"]
    n_slow = min(len(qtoks), 100)  # rank_bm25 is slow: time a subset, report per query
    t_slow = best_of(lambda: [np.argsort(-slow.get_scores(q))[: args.k] for q in qtoks[:n_slow]], 1)
    rows["bm25s"] = {"index_s": t_fast_index, "queries_per_s": len(qtoks) / t_fast}
    rows["rank_bm25"] = {"index_s": t_slow_index, "queries_per_s": n_slow / t_slow}

    dense = Dense(show_progress=False)
    dv = dense.encode(docs)
    qv = dense.encode(queries)
    index = faiss.IndexFlatIP(dv.shape[1])
    t_faiss_index = best_of(lambda: (index.reset(), index.add(dv)), 1)
    t_faiss = best_of(lambda: index.search(qv, args.k), args.repeat)

    def numpy_search():
        s = qv @ dv.T
        top = np.argpartition(-s, args.k - 1, axis=1)[:, : args.k]
        order = np.take_along_axis(s, top, axis=1).argsort(axis=1)[:, ::-1]
        return np.take_along_axis(top, order, axis=1)

    t_numpy = best_of(numpy_search, args.repeat)
    agree = float(np.mean(index.search(qv, 10)[1] == numpy_search()[:, :10]))
    rows["faiss IndexFlatIP"] = {"index_s": t_faiss_index, "queries_per_s": len(qv) / t_faiss}
    rows["numpy brute force"] = {"index_s": 0.0, "queries_per_s": len(qv) / t_numpy}

    print(
        f"InsuranceQA test ({args.profile}): {len(docs):,} documents, {len(queries):,} queries, top-{args.k}; "
        f"dense: {dv.shape[0]:,} x {dv.shape[1]} vectors"
    )
    print(f"{'method':<20}{'index s':>10}{'queries/s':>14}")
    for name, r in rows.items():
        print(f"{name:<20}{r['index_s']:>10.3f}{r['queries_per_s']:>14,.0f}")
    ratios = {
        "bm25s / rank_bm25 (queries/s)": rows["bm25s"]["queries_per_s"] / rows["rank_bm25"]["queries_per_s"],
        "faiss / numpy (queries/s)": rows["faiss IndexFlatIP"]["queries_per_s"] / rows["numpy brute force"]["queries_per_s"],
    }
    for k, v in ratios.items():
        print(f"{k}: {v:.1f}x")
    print(f"faiss and numpy top-10 agree on {agree:.1%} of positions")
    out = {
        "machine": {"cpu": platform.processor() or platform.machine(), "python": platform.python_version()},
        "profile": args.profile,
        "rows": rows,
        "ratios": ratios,
        "top10_agreement": agree,
    }
    Path(__file__).with_name("results_retrieval.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
