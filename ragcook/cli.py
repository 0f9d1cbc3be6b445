"""The ``ragcook`` command.

``ragcook eval``  evaluates retrievers on a dataset and writes a table, JSON, CSV and a bar chart.
``ragcook run``   the main job: the end-to-end pipeline on the bundled data, written to a report folder.

Other subcommands live in ``ragcook/commands/<name>.py``; each module there defines
``register(subparsers)`` and is picked up automatically.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from ragcook.errors import RagcookError


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data",
        default="insuranceqa",
        help="'insuranceqa', 'insuranceqa:zh' (machine-translated Chinese) or a BEIR folder path (default: %(default)s)",
    )
    p.add_argument("--split", default="test", help="split to evaluate (default: %(default)s)")
    p.add_argument(
        "--profile",
        default="small",
        choices=["small", "full"],
        help="InsuranceQA size: 'small' fits a laptop (500 queries, 2,000 answers), 'full' is everything",
    )


def cmd_eval(args: argparse.Namespace) -> int:
    from ragcook import data, report
    from ragcook.pipeline import evaluate_retrievers

    ds = data.load(args.data, split=args.split, profile=args.profile)
    print(ds, file=sys.stderr)
    results = evaluate_retrievers(
        ds, args.retriever, model=args.model, k=args.k, hybrid_weight=args.hybrid_weight
    )
    df = report.results_frame(results)
    print(report.format_table(df))
    paths = report.write_results(
        df,
        args.out,
        meta={"data": args.data, "split": args.split, "profile": args.profile, "model": args.model},
        title=f"{ds.name} ({len(ds.queries)} queries)",
    )
    print(f"wrote {', '.join(str(p) for p in paths.values())}", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ragcook.pipeline import run_pipeline

    path = run_pipeline(out=args.out, model=args.model, profile=args.profile, quick=args.quick)
    print(f"report: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from ragcook.models import DEFAULT_MODEL
    from ragcook.retrieve import REGISTRY

    parser = argparse.ArgumentParser(prog="ragcook", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("eval", help="evaluate retrievers on a dataset", description=cmd_eval.__doc__ or "")
    p.description = "Evaluate retrievers; print a table and write results.json, results.csv and results.png."
    _add_data_args(p)
    p.add_argument(
        "--retriever",
        nargs="+",
        default=["bm25", "dense", "hybrid"],
        choices=list(REGISTRY),
        help="one or more retrievers (default: %(default)s)",
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help="bundled model name or a Hugging Face folder path")
    p.add_argument("--k", type=int, default=100, help="documents retrieved per query (default: %(default)s)")
    p.add_argument(
        "--hybrid-weight",
        type=float,
        default=0.5,
        help="weight of the dense run in hybrid fusion, the rest goes to the sparse run (default: %(default)s)",
    )
    p.add_argument("--out", default="results", help="output folder (default: %(default)s)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("run", help="the main job: end-to-end pipeline on the default data, with a report")
    p.description = (
        "Run every stage of the course's pipeline on InsuranceQA and write a Markdown report with plots."
    )
    p.add_argument("--out", default="ragcook-report", help="report folder (default: %(default)s)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="base model: bundled name or folder path")
    p.add_argument("--profile", default="small", choices=["small", "full"], help="data size (default: small)")
    p.add_argument("--quick", action="store_true", help="smaller settings, for smoke tests")
    p.set_defaults(func=cmd_run)

    import ragcook.commands as commands

    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"ragcook.commands.{mod.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        code = args.func(args)
    except RagcookError as e:
        print(f"ragcook: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ragcook: interrupted", file=sys.stderr)
        return 130
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
