"""``ragcook recipe``: the source's recipe on your documents, from a folder to a fine-tuned model.

Chunks the corpus, has an LLM write questions (the source's two prompts), cleans them, draws 7
negatives from ranks 10-100 of the base model, and fine-tunes. If the folder is a BEIR folder
with queries and qrels, score the result with the command it prints.
"""

from __future__ import annotations

import argparse
import sys

from ragcook.cli.args import add_model, non_negative_int, out_folder, positive_int


def cmd_recipe(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ragcook.train.generate import make_generator
    from ragcook.train.recipe import run_recipe

    gen = make_generator(args.generator, n=args.questions)
    res = run_recipe(
        args.corpus, args.out, gen, model=args.model, chunk_size=args.chunk_size, overlap=args.overlap, limit=args.limit,
        n_negatives=args.negatives, max_steps=args.max_steps, batch_size=args.batch_size,
    )  # fmt: skip
    print(f"model: {res['model']}")
    folder = Path(args.corpus)
    if (folder / "queries.jsonl").is_file() and (folder / "qrels").is_dir():
        print(f"score it: ragcook eval --data {folder} --retriever dense --model {res['model']}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("recipe", help="the source's recipe on your documents: questions, negatives, fine-tuning")
    p.description = __doc__.split("\n\n")[1].replace("\n", " ")
    p.add_argument("--corpus", required=True, help="a BEIR folder (or its corpus.jsonl), or a folder of .txt/.md/.rst files")
    p.add_argument("--out", type=out_folder, required=True, help="output folder: questions.jsonl, samples.jsonl, model/")
    p.add_argument(
        "--generator", default="local", choices=["local", "openai", "ict"],
        help="local: GGUF via xllamacpp (llm extra); openai: RAGCOOK_LLM_* endpoint; ict: no LLM (default: %(default)s)",
    )  # fmt: skip
    add_model(p, help="base model to fine-tune")
    p.add_argument("--questions", type=positive_int, default=3, help="questions asked per chunk (default: %(default)s)")
    p.add_argument("--limit", type=positive_int, help="generate for at most this many new chunks (resume later)")
    p.add_argument("--chunk-size", type=positive_int, default=192, help="tokens per chunk (default: %(default)s)")
    p.add_argument("--overlap", type=non_negative_int, default=16, help="tokens shared by neighbours (default: %(default)s)")
    p.add_argument("--negatives", type=non_negative_int, default=7, help="mined negatives per question (default: %(default)s)")
    p.add_argument("--max-steps", type=positive_int, default=60, help="fine-tuning steps (default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="(default: %(default)s)")
    p.set_defaults(func=cmd_recipe)
