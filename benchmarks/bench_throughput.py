"""Throughput of the course's building blocks: encode, index, search, fine-tune.

    python benchmarks/bench_throughput.py [--device cpu|cuda] [--out benchmarks/results_throughput.json]

- encode: all-MiniLM-L6-v2 (sentence-transformers) on InsuranceQA test answers (passages) and
  questions (queries), texts/s, batch 32, after one warm-up batch.
- index build: FAISS ``IndexFlatIP`` (add), ``IndexIVFFlat`` (train + add) and ``IndexHNSWFlat``
  (add) over ``--n-vectors`` random unit vectors of 384 dimensions (exact-search speed does not
  depend on the values; build times of IVF/HNSW depend on them only mildly).
- search: queries/s for top-10 over those vectors, FAISS ``IndexFlatIP`` vs NumPy brute force
  (``Q @ D.T`` + argpartition); with ``--device cuda`` also torch ``matmul`` + ``topk`` on the GPU
  (faiss-cpu has no GPU index; ``faiss-gpu`` would be the other choice there).
- fine-tune: optimizer steps/s of a plain loop with sentence-transformers'
  ``MultipleNegativesRankingLoss`` on InsuranceQA train (question, answer) pairs.

``--device cuda`` falls back to the CPU, saying so, when torch sees no CUDA device. Prints a
markdown table and writes JSON with the machine's description (CPU model, cores, load average).
On a shared machine pass ``--threads 1``: OpenMP threads that compete with other processes for
the same cores slow down far more than in proportion (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pick_device(requested: str) -> str:
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        print("CUDA requested but torch sees no CUDA device: running on the CPU instead.", file=sys.stderr)
        return "cpu"
    return requested


def sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def timed(fn, device: str = "cpu", repeat: int = 1) -> float:
    """Best wall time of ``repeat`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        sync(device)
        t = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t)
    return best


def machine(device: str) -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        cpu = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min_before": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": device,
    }
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def bench_encode(device: str, n_passages: int, n_queries: int) -> dict:
    from ragcook import data
    from ragcook.models import load_sentence_transformer

    ds = data.load_insuranceqa("test")
    passages, queries = list(ds.corpus.values())[:n_passages], list(ds.queries.values())[:n_queries]
    model = load_sentence_transformer("minilm", device=device)
    enc = lambda texts: model.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True)  # noqa: E731
    enc(passages[:32])  # warm-up
    tok = model.tokenizer

    def mean_tokens(texts: list[str]) -> float:
        return float(np.mean([len(tok(t, truncation=True, max_length=256)["input_ids"]) for t in texts]))

    t_p, t_q = timed(lambda: enc(passages), device), timed(lambda: enc(queries), device)
    return {
        "encode passages": {"texts_per_s": len(passages) / t_p, "n": len(passages), "tokens": mean_tokens(passages)},
        "encode queries": {"texts_per_s": len(queries) / t_q, "n": len(queries), "tokens": mean_tokens(queries)},
    }


def bench_index_search(device: str, n_vectors: int, n_queries: int, k: int = 10, dim: int = 384) -> dict:
    import faiss

    faiss.cvar.distance_compute_blas_threshold = 20  # the default; set so runs are comparable
    rng = np.random.default_rng(0)
    docs = rng.standard_normal((n_vectors, dim), dtype=np.float32)
    docs /= np.linalg.norm(docs, axis=1, keepdims=True)
    qs = rng.standard_normal((n_queries, dim), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    rows = {}

    flat = faiss.IndexFlatIP(dim)
    rows["faiss build IndexFlatIP"] = {"build_s": timed(lambda: (flat.reset(), flat.add(docs)))}
    nlist = int(4 * np.sqrt(n_vectors))
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rows[f"faiss build IndexIVFFlat (nlist={nlist})"] = {"build_s": timed(lambda: (ivf.train(docs), ivf.add(docs)))}
    hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    rows["faiss build IndexHNSWFlat (M=32)"] = {"build_s": timed(lambda: hnsw.add(docs))}

    def numpy_search():
        s = qs @ docs.T
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(s, top, axis=1).argsort(axis=1)[:, ::-1]
        return np.take_along_axis(top, order, axis=1)

    t_flat = timed(lambda: flat.search(qs, k), repeat=3)
    t_np = timed(numpy_search, repeat=3)
    agree = float(np.mean(flat.search(qs, k)[1] == numpy_search()))
    rows["search faiss IndexFlatIP"] = {"queries_per_s": n_queries / t_flat, "top10_agreement_with_numpy": agree}
    rows["search numpy brute force"] = {"queries_per_s": n_queries / t_np}
    if device == "cuda":
        import torch

        d_gpu, q_gpu = torch.from_numpy(docs).cuda(), torch.from_numpy(qs).cuda()
        torch.topk(q_gpu @ d_gpu.T, k, dim=1)  # warm-up
        t_gpu = timed(lambda: torch.topk(q_gpu @ d_gpu.T, k, dim=1), device, repeat=3)
        rows["search torch matmul+topk (cuda)"] = {"queries_per_s": n_queries / t_gpu}
    return rows


def bench_finetune(device: str, steps: int, batch_size: int, max_seq_length: int) -> dict:
    import torch
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    from ragcook import data
    from ragcook.models import load_sentence_transformer

    torch.manual_seed(0)
    ds = data.load_insuranceqa("train")
    pairs = [(ds.queries[q], ds.positives(q)[0]) for q in list(ds.queries)[: (steps + 1) * batch_size]]
    model = load_sentence_transformer("minilm", device=device)
    model.max_seq_length = max_seq_length
    loss_fn = MultipleNegativesRankingLoss(model)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5)
    model.train()

    def step(b: int) -> None:
        batch = pairs[b * batch_size : (b + 1) * batch_size]
        feats = [model.preprocess([p[i] for p in batch]) for i in (0, 1)]
        feats = [{k: (v.to(device) if hasattr(v, "to") else v) for k, v in f.items()} for f in feats]
        loss = loss_fn(feats, labels=None)
        loss.backward()
        opt.step()
        opt.zero_grad()

    step(0)  # warm-up
    t = timed(lambda: [step(b) for b in range(1, steps + 1)], device)
    return {
        "fine-tune MNRL steps": {
            "steps_per_s": steps / t,
            "pairs_per_s": steps * batch_size / t,
            "batch_size": batch_size,
            "max_seq_length": max_seq_length,
        }
    }


def table(rows: dict) -> str:
    lines = ["| what | figure | unit |", "|---|---:|---|"]
    for name, r in rows.items():
        units = (("texts_per_s", "texts/s"), ("build_s", "s"), ("queries_per_s", "queries/s"), ("steps_per_s", "steps/s"))
        for key, unit in units:
            if key in r:
                lines.append(f"| {name} | {r[key]:,.2f} | {unit} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--out", default=str(Path(__file__).with_name("results_throughput.json")))
    ap.add_argument("--passages", type=int, default=256, help="InsuranceQA answers to encode")
    ap.add_argument("--queries", type=int, default=512, help="InsuranceQA questions to encode")
    ap.add_argument("--n-vectors", type=int, default=50_000, help="vectors in the FAISS indexes")
    ap.add_argument("--search-queries", type=int, default=1_000)
    ap.add_argument("--steps", type=int, default=5, help="timed fine-tuning steps (after one warm-up)")
    ap.add_argument("--batch-size", type=int, default=16, help="fine-tuning pairs per step")
    ap.add_argument("--max-seq-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for torch and FAISS (0: their default)")
    args = ap.parse_args(argv)

    device = pick_device(args.device)
    if args.threads:
        import faiss
        import torch

        torch.set_num_threads(args.threads)
        faiss.omp_set_num_threads(args.threads)
    info = machine(device)
    start = time.perf_counter()
    rows: dict[str, dict] = {}
    rows.update(bench_encode(device, args.passages, args.queries))
    rows.update(bench_index_search(device, args.n_vectors, args.search_queries))
    rows.update(bench_finetune(device, args.steps, args.batch_size, args.max_seq_length))
    info["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    total = time.perf_counter() - start

    gpu = f" ({info['gpu']})" if "gpu" in info else ""
    print(f"Machine: {info['cpu']}, {info['cores']} cores, torch threads {info['torch_threads']}, device {device}{gpu}")
    print(table(rows))
    print(f"total {total:.0f} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    out.write_text(json.dumps({"machine": info, "settings": settings, "rows": rows, "total_s": total}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
