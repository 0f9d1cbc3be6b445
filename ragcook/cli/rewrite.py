"""``ragcook rewrite``: rewrite queries into search keywords with an LLM (a resumable JSONL cache)."""

from __future__ import annotations

import argparse
import sys

from ragcook.cli.args import add_data, out_file, positive_int


def cmd_rewrite(args: argparse.Namespace) -> int:
    from ragcook import data
    from ragcook.train.generate import rewrite_keywords
    from ragcook.train.llm import LocalGGUF, OpenAIChat

    ds = data.load(args.data, split=args.split, profile=args.profile, lang=args.lang).take(args.queries)
    backend = LocalGGUF() if args.generator == "local" else OpenAIChat()
    out = rewrite_keywords(ds.queries, backend, args.out)
    print(f"{len(out)} rewritten queries -> {args.out}", file=sys.stderr)
    return 0


def register(sub) -> None:
    r = sub.add_parser("rewrite", help="rewrite queries into search keywords with an LLM (cached JSONL)")
    r.description = __doc__.split("\n\n")[0].split(": ", 1)[1]
    add_data(r)
    r.add_argument(
        "--queries", type=positive_int, default=40, help="queries, sampled with the dataset's seed (default: %(default)s)"
    )
    r.add_argument("--generator", default="local", choices=["local", "openai"])
    r.add_argument("--out", type=out_file, required=True, help="JSONL cache of the rewrites (resumable)")
    r.set_defaults(func=cmd_rewrite)
