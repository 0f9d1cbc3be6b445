"""``ragcook eval``: evaluate retrievers on a dataset; print a table, write JSON, CSV and a chart."""

from __future__ import annotations

import argparse
import sys

from ragcook.cli.args import add_data, add_model, out_folder, positive_int, unit_float


def cmd_eval(args: argparse.Namespace) -> int:
    from ragcook import data, report
    from ragcook.pipeline import evaluate_retrievers
    from ragcook.retrieve.bm25 import TOKENIZERS

    ds = data.load(args.data, split=args.split, profile=args.profile, lang=args.lang)
    lang = data.lang_of(ds)
    print(f"{ds}; language {lang}: BM25 words by {TOKENIZERS.get(lang, lang)}", file=sys.stderr)
    results = evaluate_retrievers(
        ds, args.retriever, model=args.model, k=args.k, hybrid_weight=args.hybrid_weight, hybrid_norm=args.hybrid_norm
    )
    df = report.results_frame(results)
    print(report.format_table(df))
    meta = {"data": args.data, "split": args.split, "profile": args.profile, "model": args.model, "lang": lang}
    paths = report.write_results(df, args.out, meta=meta, title=f"{ds.name} ({len(ds.queries)} queries)")
    print(f"wrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


def register(sub) -> None:
    from ragcook.retrieve.fusion import NORMS
    from ragcook.retrieve.registry import HYBRID_NORM, HYBRID_WEIGHT, REGISTRY

    p = sub.add_parser("eval", help="evaluate retrievers on a dataset")
    p.description = "Evaluate retrievers; print a table and write results.json, results.csv and results.png."
    add_data(p)
    p.add_argument(
        "--retriever", nargs="+", default=["bm25", "dense", "hybrid"], choices=list(REGISTRY),
        help="one or more retrievers (default: %(default)s)",
    )  # fmt: skip
    add_model(p)
    p.add_argument("--k", type=positive_int, default=100, help="documents retrieved per query (default: %(default)s)")
    p.add_argument(
        "--hybrid-weight", type=unit_float, default=HYBRID_WEIGHT,
        help="weight in [0, 1] of the dense run in hybrid fusion; BM25 gets the rest (default: %(default)s)",
    )  # fmt: skip
    p.add_argument(
        "--hybrid-norm", choices=NORMS, default=HYBRID_NORM,
        help="how each run's scores are normalised before hybrid fusion (default: %(default)s)",
    )  # fmt: skip
    p.add_argument("--out", type=out_folder, default="results", help="output folder (default: %(default)s)")
    p.set_defaults(func=cmd_eval)
