"""Why `make test` runs two workers of one thread each: encode throughput, one process or several.

    python benchmarks/bench_threads.py [--texts 512] [--processes 2]

Encodes the same InsuranceQA test answers with all-MiniLM-L6-v2 (torch, batch 32, after a warm-up
batch) in two set-ups that use the same cores:

- one process with ``torch.set_num_threads(P)`` (what a single pytest process does);
- ``P`` processes at once, one thread each (what ``make test``'s ``P`` xdist workers do); they load
  and warm up first, then start encoding together.

Prints texts/s for each (the second: all processes' texts over the slowest one's time) and their ratio,
and writes them to ``benchmarks/results_threads.json``. On a machine
with more cores than ``P`` both set-ups leave cores idle; the comparison is about ``P`` cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TQDM_DISABLE", "1")


def child(threads: int, n_texts: int) -> None:
    """Load, warm up, say ``ready``, wait for ``go`` on stdin, encode ``n_texts`` answers, print the seconds."""
    import torch

    torch.set_num_threads(threads)
    from ragcook.data import load_insuranceqa
    from ragcook.models import load_sentence_transformer

    docs = list(load_insuranceqa("test").corpus.values())[:n_texts]
    model = load_sentence_transformer("minilm")
    model.encode(docs[:32], batch_size=32)  # warm-up
    print("ready", flush=True)
    sys.stdin.readline()
    t = time.perf_counter()
    model.encode(docs, batch_size=32)
    print(time.perf_counter() - t, flush=True)


def rate(processes: int, threads: int, n_texts: int) -> float:
    """Texts/s of ``processes`` children with ``threads`` threads each, started together once all are loaded:
    all their texts over the slowest child's seconds."""
    cmd = [sys.executable, __file__, "--texts", str(n_texts), "--child", str(threads)]
    procs = [subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(processes)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    seconds = max(float(p.communicate()[0]) for p in procs)
    return processes * n_texts / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=int, default=512)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.texts)
        return
    p = args.processes
    one, many = rate(1, p, args.texts), rate(p, 1, args.texts)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"| set-up ({p} cores, {args.texts} InsuranceQA answers each, batch 32) | texts/s |")
    print("|---|---:|")
    print(f"| 1 process, {p} torch threads | {one:.1f} |")
    print(f"| {p} processes at once, 1 thread each (all texts / slowest process) | {many:.1f} |")
    print(f"\n{p} one-thread processes / one {p}-thread process: {many / one:.2f}x")
    out = Path(__file__).with_name("results_threads.json")
    record = {"processes": p, "texts": args.texts, "one_process_texts_per_s": one, "processes_texts_per_s": many,
              "ratio": many / one, "loadavg_1min_at_end": os.getloadavg()[0], "cpu_count": os.cpu_count()}  # fmt: skip
    out.write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
