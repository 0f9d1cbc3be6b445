"""Search at scale: exact and approximate indexes side by side, build time, speed and recall@10.

    python benchmarks/bench_search.py [--data insuranceqa,synthetic] [--n 1000000] [--milvus-max 100000]

Indexes: NumPy exact (:func:`ragcook.retrieve.topk.search`, the course's one top-k), FAISS
``IndexFlatIP`` (exact), ``IndexIVFFlat`` (nlist = 4·√n, k-means on at most 64·nlist vectors,
several ``nprobe``), ``IndexHNSWFlat`` (M = 32, efConstruction 40, several ``efSearch``), and Milvus
Lite (pymilvus ``MilvusClient`` on a local ``.db``, a dense-only collection with its FLAT, IVF_FLAT
and HNSW indexes; rows beyond ``--milvus-max`` are not inserted, and the table says so).

Data: (a) ``insuranceqa``: all 27,413 InsuranceQA answers encoded by the course's default backend
(cached in chunks, so an interrupted first run resumes) and the 2,000 test questions; (b)
``synthetic``: ``--n`` unit vectors of 384 dimensions from a seeded mixture of 1,000 Gaussian
clusters, and 1,000 queries drawn near data points. recall@10 = the share of the exact top 10
(NumPy) that an index returns. Queries/s: all queries in one call; latency: one query per call,
median of 20. Size: the index's own bytes (FAISS ``serialize_index``), the array for NumPy and
FAISS Flat, the ``.db`` folder (data and index files) for Milvus Lite. Prints one Markdown table per data set
naming the machine, and writes ``benchmarks/results_search.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).parent))

from bench_encode import cpu_name  # noqa: E402

K = 10


def insuranceqa(chunk: int = 2000, backend: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All InsuranceQA answers and the test questions, encoded by ``backend`` (default: the course's; cached per chunk)."""
    from ragcook import data
    from ragcook.encode.backends import DEFAULT_BACKEND
    from ragcook.retrieve import Dense

    ds = data.load_insuranceqa("test", profile="full")
    dense = Dense(backend=backend or DEFAULT_BACKEND)
    texts = list(ds.corpus.values())
    parts = []
    for s in range(0, len(texts), chunk):
        parts.append(dense.encode(texts[s : s + chunk]))
        print(f"encoded {min(s + chunk, len(texts)):,} / {len(texts):,} answers ({dense.backend})", file=sys.stderr)
    return np.vstack(parts), dense.encode(list(ds.queries.values()))


def synthetic(n: int, n_queries: int = 1000, dim: int = 384, clusters: int = 1000, seed: int = 0):
    """``n`` unit vectors from a seeded Gaussian mixture, and queries near random data points."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((clusters, dim), dtype=np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    # Clusters of different widths: a point's noise has norm 0.5-1.0 against its centre's 1 (cosine to it ~0.7-0.9).
    spread = rng.uniform(0.5, 1.0, clusters).astype(np.float32) / np.sqrt(dim)
    docs = np.empty((n, dim), dtype=np.float32)
    for s in range(0, n, 100_000):
        m = min(n, s + 100_000) - s
        c = rng.integers(0, clusters, m)
        docs[s : s + m] = centers[c] + rng.standard_normal((m, dim), dtype=np.float32) * spread[c, None]
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    qs = docs[rng.integers(0, n, n_queries)] + rng.standard_normal((n_queries, dim), dtype=np.float32) * 0.3 / np.sqrt(dim)
    return docs, (qs / np.linalg.norm(qs, axis=1, keepdims=True)).astype(np.float32)


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(e)) / len(e) for f, e in zip(found, exact)]))


def measure(search, qs: np.ndarray, exact: np.ndarray, singles: int = 20) -> dict:
    """Queries/s of one batched call, median one-query latency, and recall@10 against ``exact``."""
    search(qs[:2])  # warm-up
    t = time.perf_counter()
    found = search(qs)
    batch_s = time.perf_counter() - t
    lat = []
    for q in qs[:singles]:
        t = time.perf_counter()
        search(q[None])
        lat.append(time.perf_counter() - t)
    return {"qps": len(qs) / batch_s, "latency_ms": 1000 * float(np.median(lat)),
            "recall@10": recall(found, exact)}  # fmt: skip


def faiss_flat(docs: np.ndarray, qs: np.ndarray, exact: np.ndarray) -> dict:
    import faiss

    t = time.perf_counter()
    flat = faiss.IndexFlatIP(docs.shape[1])
    flat.add(docs)
    build = time.perf_counter() - t
    return {"FAISS IndexFlatIP (exact)": {"build_s": build, "bytes": docs.nbytes,
                                          **measure(lambda q: flat.search(q, K)[1], qs, exact)}}  # fmt: skip


def faiss_ivf(docs: np.ndarray, qs: np.ndarray, exact: np.ndarray, nprobes) -> dict:
    import faiss

    (n, dim), rows = docs.shape, {}
    nlist = int(4 * np.sqrt(n))
    t = time.perf_counter()
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(docs[np.random.default_rng(1).choice(n, min(n, 64 * nlist), replace=False)])
    ivf.add(docs)
    build, size = time.perf_counter() - t, len(faiss.serialize_index(ivf))
    for p in nprobes:
        ivf.nprobe = p
        rows[f"FAISS IVFFlat nlist={nlist} nprobe={p}"] = {"build_s": build, "bytes": size,
                                                            **measure(lambda q: ivf.search(q, K)[1], qs, exact)}  # fmt: skip
    return rows


def faiss_hnsw(docs: np.ndarray, qs: np.ndarray, exact: np.ndarray, efs) -> dict:
    import faiss

    rows = {}
    t = time.perf_counter()
    hnsw = faiss.IndexHNSWFlat(docs.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = 40
    hnsw.add(docs)
    build, size = time.perf_counter() - t, len(faiss.serialize_index(hnsw))
    for ef in efs:
        hnsw.hnsw.efSearch = ef
        rows[f"FAISS HNSWFlat M=32 efSearch={ef}"] = {"build_s": build, "bytes": size,
                                                       **measure(lambda q: hnsw.search(q, K)[1], qs, exact)}  # fmt: skip
    return rows


def milvus_rows(docs: np.ndarray, qs: np.ndarray, exact: np.ndarray, limit: int) -> dict:
    """Milvus Lite through pymilvus, one dense-only collection per index type."""
    from pymilvus import DataType, MilvusClient

    n, dim = min(len(docs), limit), docs.shape[1]
    rows = {}
    nlist = int(4 * np.sqrt(n))
    kinds = {
        "FLAT": ({}, {}),
        "IVF_FLAT": ({"nlist": nlist}, {"nprobe": 16}),
        "HNSW": ({"M": 32, "efConstruction": 40}, {"ef": 64}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for kind, (build_params, search_params) in kinds.items():
            path = Path(tmp) / f"{kind.lower()}.db"
            client = MilvusClient(str(path))
            t = time.perf_counter()
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("v", DataType.FLOAT_VECTOR, dim=dim)
            index = client.prepare_index_params()
            index.add_index("v", index_type=kind, metric_type="IP", params=build_params)
            client.create_collection("bench", schema=schema, index_params=index)
            for s in range(0, n, 5000):
                client.insert("bench", [{"id": i, "v": docs[i].tolist()} for i in range(s, min(n, s + 5000))])
            client.flush("bench")
            client.load_collection("bench")

            def search(q, client=client, params=search_params):
                res = client.search("bench", data=q.tolist(), anns_field="v", limit=K,
                                    search_params={"metric_type": "IP", "params": params})  # fmt: skip
                return np.array([[h["id"] for h in hits] + [-1] * (K - len(hits)) for hits in res])

            build = time.perf_counter() - t
            name = f"Milvus Lite {kind} {search_params or ''}".strip() + (f" (first {n:,} rows)" if n < len(docs) else "")
            # recall against the exact top 10 of the rows it holds
            row = {"build_s": build, **measure(search, qs, exact if n == len(docs) else exact_top(docs[:n], qs))}
            client.close()
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_all()  # flushes the collection to its folder
            rows[name] = row | {"bytes": sum(f.stat().st_size for f in path.rglob("*") if f.is_file())}
    return rows


def exact_top(docs: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """The exact top 10 row indices of each query, by the course's one top-k."""
    from ragcook.retrieve.topk import top_k_indices

    return np.vstack([top_k_indices(qs[s : s + 256] @ docs.T, K) for s in range(0, len(qs), 256)])


def bench(name: str, docs: np.ndarray, qs: np.ndarray, args) -> dict:
    from ragcook.retrieve.topk import search

    dids, qids = [str(i) for i in range(len(docs))], [str(i) for i in range(len(qs))]
    rows = {}
    batch = max(1, 2**26 // len(docs))  # a score block of at most 64 M floats (256 MB)

    def run_np(q: np.ndarray) -> np.ndarray:
        run = search(q, docs, qids[: len(q)], dids, k=K, batch=batch)
        return np.array([[int(d) for d in r] for r in run.values()])

    exact = run_np(qs)
    rows["NumPy exact (ragcook.retrieve.topk)"] = {"build_s": 0.0, "bytes": docs.nbytes, **measure(run_np, qs, exact)}
    print(f"{name}: numpy done", file=sys.stderr, flush=True)
    rows.update(faiss_flat(docs, qs, exact))
    rows.update(faiss_ivf(docs, qs, exact, args.nprobe))
    gc.collect()
    rows.update(faiss_hnsw(docs, qs, exact, args.ef))
    gc.collect()
    print(f"{name}: faiss done", file=sys.stderr, flush=True)
    if args.milvus_max > 0:
        rows.update(milvus_rows(docs, qs, exact, args.milvus_max))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="insuranceqa,synthetic")
    ap.add_argument("--n", type=int, default=1_000_000, help="synthetic vectors")
    ap.add_argument("--queries", type=int, default=1000, help="synthetic queries")
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--ef", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--milvus-max", type=int, default=30_000, help="rows inserted into Milvus Lite (0: skip it)")
    ap.add_argument("--threads", type=int, default=0, help="FAISS/BLAS threads (0: their default)")
    ap.add_argument("--backend", default=None, help="encoding backend for InsuranceQA (default: the course's)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_search.json")))
    args = ap.parse_args(argv)

    import faiss

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    info = {"cpu": cpu_name(), "cores": os.cpu_count(), "affinity": sorted(os.sched_getaffinity(0)),
            "date": time.strftime("%Y-%m-%d %H:%M"), "load": [os.getloadavg()[0]]}  # fmt: skip
    results = {}
    for name in args.data.split(","):
        t = time.perf_counter()
        docs, qs = insuranceqa(backend=args.backend) if name == "insuranceqa" else synthetic(args.n, args.queries)
        info[f"{name}_make_s"] = time.perf_counter() - t
        results[name] = {"n": len(docs), "queries": len(qs), "rows": bench(name, docs, qs, args)}
        info["load"].append(os.getloadavg()[0])
        del docs, qs
        gc.collect()
    loads = ", ".join(f"{x:.1f}" for x in info["load"])
    for name, res in results.items():
        print(f"\n{name}: {res['n']:,} vectors × 384, {res['queries']:,} queries, top-10. Machine: {info['cpu']}, "
              f"{info['cores']} cores (this process on CPUs {info['affinity']}), {info['date']}, 1-min load {loads}")  # fmt: skip
        print("| index | build s | queries/s (batch) | latency ms (1 query) | recall@10 | size MB |")
        print("|---|---:|---:|---:|---:|---:|")
        for idx, r in res["rows"].items():
            print(f"| {idx} | {r['build_s']:.1f} | {r['qps']:,.0f} | {r['latency_ms']:.2f} | {r['recall@10']:.3f} | "
                  f"{r['bytes'] / 2**20:,.0f} |")  # fmt: skip
    Path(args.out).write_text(json.dumps({"machine": info, "settings": vars(args), "results": results}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
