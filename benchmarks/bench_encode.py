"""Faster encoding on the CPU: every candidate side by side in one run, speed and quality.

    python benchmarks/bench_encode.py [--candidates torch,onnx,onnx-int8,...] [--rounds 3] [--threads N]

Candidates (``NAME`` or ``NAME@LEN`` for a shorter ``max_seq_length``):

- ``torch``: sentence-transformers' ``encode`` (it sorts by length too), the course's reference;
- ``torch-int8``: PyTorch's dynamic quantisation of every ``nn.Linear`` (``torch.ao.quantization``);
- ``onnx``, ``onnx-int8``, ``openvino``, ``openvino-int8``: :mod:`ragcook.encode.backends`.

For each: texts/s on the same InsuranceQA test answers (passages) and questions (queries), same
batch size, after a warm-up batch, the best of ``--rounds`` rounds in which the candidates take
turns (so a change of load on a shared machine hits all of them); the cosine of its passage
vectors to torch's (min and mean over the 2,000 test answers); nDCG@10 of the 500 test questions
over those answers (queries encoded by the same candidate), and the change from torch. Vectors are
cached per candidate, so a second run only re-times. Prints a Markdown table and writes
``benchmarks/results_encode.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT = "torch,torch-int8,onnx,onnx-int8,onnx-int8-mixed,openvino,openvino-int8,onnx-int8@128"


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's answer)."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def make(spec: str, model: str, batch_size: int, threads: int):
    """``spec`` -> a function texts -> normalised float32 vectors (None if its runtime is missing)."""
    from ragcook.encode import backends
    from ragcook.models import load_sentence_transformer

    name, _, length = spec.partition("@")
    max_len = int(length) if length else None
    if name in ("torch", "torch-int8"):
        import torch

        st = load_sentence_transformer(model)
        if max_len:
            st.max_seq_length = max_len
        if name == "torch-int8":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
                st = torch.ao.quantization.quantize_dynamic(st, {torch.nn.Linear}, dtype=torch.qint8)
        return lambda texts: st.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        ).astype(np.float32)
    if not backends.available(name):
        return None
    enc = backends.ExportedEncoder(model, name, max_seq_length=max_len, threads=threads)
    return lambda texts: enc.encode(texts, batch_size)


def best_time(fn, texts: list[str]) -> float:
    t = time.perf_counter()
    fn(texts)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--candidates", default=DEFAULT)
    ap.add_argument("--time-passages", type=int, default=200, help="answers timed per round")
    ap.add_argument("--time-queries", type=int, default=200, help="questions timed per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="threads for every candidate (0: the cores this process may use)")
    ap.add_argument("--quick", action="store_true", help="50 questions and their corpus: checks the script runs")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_encode.json")))
    args = ap.parse_args(argv)

    import torch

    from ragcook import data
    from ragcook.cache import cached
    from ragcook.encode.backends import cache_tag, default_threads
    from ragcook.eval.metrics import evaluate
    from ragcook.models import fingerprint
    from ragcook.retrieve.topk import search

    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    ds = data.load_insuranceqa("test")
    if args.quick:  # a smoke test of the script, not a measurement
        from ragcook.data import Dataset

        small = ds.take(50)
        keep = {d for q in small.qrels.values() for d in q} | set(list(ds.corpus)[:150])
        ds = Dataset({d: t for d, t in ds.corpus.items() if d in keep}, small.queries, small.qrels, name="quick")
    dids, passages = list(ds.corpus), list(ds.corpus.values())
    qids, queries = list(ds.queries), list(ds.queries.values())
    info = {"cpu": cpu_name(), "cores": os.cpu_count(), "threads": threads, "load_before": os.getloadavg()[0]}
    info["date"] = time.strftime("%Y-%m-%d %H:%M")
    start = time.perf_counter()

    fns, export_s = {}, {}
    for spec in args.candidates.split(","):
        t = time.perf_counter()
        fn = make(spec, args.model, args.batch_size, threads)
        if fn is None:
            print(f"{spec}: its runtime is not installed; skipped", file=sys.stderr)
            continue
        fns[spec], export_s[spec] = fn, time.perf_counter() - t  # load (+ export on a cold cache)

    # Quality: every candidate's vectors for all answers and questions (cached per candidate).
    fp = fingerprint(args.model)
    vecs = {}
    for spec, fn in fns.items():
        name, _, length = spec.partition("@")
        key = f"{fp}|{length or None}|" + (cache_tag(name) if name != "torch-int8" else "|torch-int8/bench")
        vecs[spec] = (cached(key, passages, fn), cached(key, queries, fn))
        print(f"encoded with {spec}", file=sys.stderr, flush=True)
    ref = vecs.get("torch", next(iter(vecs.values())))
    rows = {}
    for spec, (pv, qv) in vecs.items():
        nd = evaluate(ds.qrels, search(qv, pv, qids, dids, k=100), metrics=("ndcg@10",))["ndcg@10"]
        cos, qcos = (pv * ref[0]).sum(1), (qv * ref[1]).sum(1)
        rows[spec] = {"ndcg@10": nd, "cos_min": float(cos.min()), "cos_mean": float(cos.mean()),
                      "query_cos_min": float(qcos.min()), "query_cos_mean": float(qcos.mean()), "load_s": export_s[spec]}  # fmt: skip

    # Speed: the candidates take turns, round after round; each keeps its best round.
    tp, tq = passages[: args.time_passages], queries[: args.time_queries]
    loads = []
    for fn in fns.values():
        fn(tp[: args.batch_size])  # warm-up
    for _ in range(args.rounds):
        loads.append(os.getloadavg()[0])
        for spec, fn in fns.items():
            r = rows[spec]
            r["passages_s"] = min(r.get("passages_s", np.inf), best_time(fn, tp))
            r["queries_s"] = min(r.get("queries_s", np.inf), best_time(fn, tq))
    info["load_during"] = loads + [os.getloadavg()[0]]
    base = rows.get("torch", next(iter(rows.values())))
    for r in rows.values():
        r["passages_per_s"], r["queries_per_s"] = len(tp) / r["passages_s"], len(tq) / r["queries_s"]
        r["speedup"] = base["passages_s"] / r["passages_s"]
        r["delta_ndcg"] = r["ndcg@10"] - base["ndcg@10"]

    print(f"Machine: {info['cpu']}, {info['cores']} cores, {threads} threads, {info['date']}, "
          f"1-min load average {', '.join(f'{x:.1f}' for x in [info['load_before']] + info['load_during'])}")  # fmt: skip
    print("| candidate | passages/s | × torch | queries/s | cosine to torch, passages (min / mean) | queries (min / mean) "
          "| nDCG@10 | Δ vs torch |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for spec, r in rows.items():
        print(f"| {spec} | {r['passages_per_s']:.1f} | {r['speedup']:.2f} | {r['queries_per_s']:.0f} | "
              f"{r['cos_min']:.4f} / {r['cos_mean']:.4f} | {r['query_cos_min']:.4f} / {r['query_cos_mean']:.4f} | "
              f"{r['ndcg@10']:.4f} | {r['delta_ndcg']:+.4f} |")  # fmt: skip
    ok = [s for s, r in rows.items() if abs(r["delta_ndcg"]) <= 0.005]
    fastest = max(ok, key=lambda s: rows[s]["speedup"]) if ok else None
    print(f"fastest within 0.005 nDCG@10 of torch: {fastest}")
    total = time.perf_counter() - start
    out = Path(args.out)
    out.write_text(json.dumps({"machine": info, "settings": vars(args), "rows": rows, "fastest_ok": fastest,
                               "total_s": total}, indent=2) + "\n")  # fmt: skip
    print(f"total {total:.0f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
