"""The course's cross-encoder in each backend: pairs scored per second, and what int8 does to the reranking.

    python benchmarks/bench_rerank.py [--backends torch,onnx,onnx-int8-mixed,onnx-int8] [--rounds 3] [--threads N]

The pairs are notebook 13's: 100 InsuranceQA test questions (``test.take(100)``), each with the top
``--depth`` answers of the base dense model. For each backend of
:class:`ragcook.retrieve.rerank.CrossEncoderScorer`: pairs/s on the first 400 pairs after a warm-up
(the best of ``--rounds`` rounds in which the backends take turns, so a change of load hits all of
them); then every pair's score (cached per backend, so a second run only re-times), the mean Spearman
correlation with torch's scores within a question, the share of questions whose top answer is torch's,
and nDCG@10 after reranking. Needs the course's cross-encoder (trained on first use, about two minutes).
Prints a Markdown table and writes ``benchmarks/results_rerank.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_encode import cpu_name  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backends", default="torch,onnx,onnx-int8-mixed,onnx-int8")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="torch and ONNX Runtime threads (default: all cores)")
    args = p.parse_args(argv)
    if args.threads:
        os.environ["RAGCOOK_THREADS"] = str(args.threads)
        import torch

        torch.set_num_threads(args.threads)

    from ragcook.data import load_insuranceqa
    from ragcook.eval import evaluate
    from ragcook.eval.rerank import backend_agreement, reranked_runs
    from ragcook.retrieve import Dense
    from ragcook.retrieve.rerank import CrossEncoderScorer
    from ragcook.retrieve.topk import top_k
    from ragcook.train.cross_encoder import ensure_cross_encoder

    test = load_insuranceqa("test")
    sub = test.take(100)
    first = Dense("minilm", show_progress=False).index(test.corpus).search(sub.queries, k=100)
    heads = top_k(first, args.depth)
    pairs = [(sub.queries[q], sub.corpus[d]) for q, docs in heads.items() for d in docs][:400]
    ce = ensure_cross_encoder()
    scorers = {b: CrossEncoderScorer(ce, backend=b) for b in args.backends.split(",")}
    for s in scorers.values():
        s.predict(pairs[:32])  # warm-up: the export (first time), the session, the first batch
    best = {b: float("inf") for b in scorers}
    for _ in range(args.rounds):
        for b, s in scorers.items():
            t = time.perf_counter()
            s.predict(pairs)
            best[b] = min(best[b], time.perf_counter() - t)

    ref = scorers.get("torch")
    rows = []
    for b, s in scorers.items():
        run = reranked_runs(sub, first, s, depths=[args.depth])[args.depth]
        row = {"backend": b, "pairs/s": round(len(pairs) / best[b], 1), "ndcg@10": round(evaluate(sub.qrels, run)["ndcg@10"], 4)}
        if ref is not None:
            agree = backend_agreement(s, ref, sub.queries, sub.corpus, first, args.depth)
            row |= {"spearman vs torch": round(agree["spearman"], 4), "same top 1": agree["same_top1"] / len(sub.queries)}
        rows.append(row)
    base = evaluate(sub.qrels, first)["ndcg@10"]
    print(f"{cpu_name()}, {args.threads or os.cpu_count()} threads; {len(pairs)} pairs timed, best of {args.rounds}; "
          f"first stage (base dense) nDCG@10 {base:.4f} on {len(sub.queries)} questions, top {args.depth} reranked\n")  # fmt: skip
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "")) for c in cols) + " |")
    out = Path(__file__).with_name("results_rerank.json")
    out.write_text(json.dumps({"cpu": cpu_name(), "threads": args.threads, "first_ndcg@10": base, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
