"""``ragcook run``: the main job, every stage of the course's pipeline, written to a report folder."""

from __future__ import annotations

import argparse

from ragcook.cli.args import add_model, out_folder


def cmd_run(args: argparse.Namespace) -> int:
    from ragcook.pipeline import run_pipeline

    path = run_pipeline(out=args.out, model=args.model, profile=args.profile, quick=args.quick)
    print(f"report: {path}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("run", help="the main job: end-to-end pipeline on the default data, with a report")
    p.description = "Run every stage of the course's pipeline on InsuranceQA and write a Markdown report with plots."
    p.add_argument("--out", type=out_folder, default="ragcook-report", help="report folder (default: %(default)s)")
    add_model(p, help="base model: bundled name or folder path")
    p.add_argument("--profile", default="small", choices=["small", "full"], help="data size (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="smaller settings, for smoke tests")
    p.set_defaults(func=cmd_run)
