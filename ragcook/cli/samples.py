"""``ragcook samples``: build fine-tuning samples for a domain.

``ragcook samples build``            chunk a corpus, generate questions, clean them, write samples
``ragcook samples mine-negatives``   add hard negatives from a corpus to a samples file
``ragcook samples from-insuranceqa`` samples from InsuranceQA questions, with mined negatives
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ragcook.cli.args import add_model, non_negative_int, out_file, positive_int
from ragcook.errors import RagcookError, warn


def cmd_build(args: argparse.Namespace) -> int:
    from ragcook.text.chunk import chunk_corpus, read_corpus
    from ragcook.train.clean import clean_generated
    from ragcook.train.generate import generate_questions, make_generator
    from ragcook.train.recipe import RECIPE_FILE, insuranceqa_chunks
    from ragcook.train.samples import samples_from_generated, write_samples

    if bool(args.corpus) == bool(args.data):
        raise RagcookError("samples build: give --corpus PATH or --data insuranceqa, not both")
    if args.data:  # the course's set: InsuranceQA's test-split answers, in the seeded order
        chunks, raw_path = insuranceqa_chunks(), Path(args.raw or RECIPE_FILE)
        print(f"InsuranceQA test-split answers: {len(chunks)} documents, one chunk each", file=sys.stderr)
    else:
        corpus = read_corpus(args.corpus)
        sizes = {} if args.chunker == "sentences" else {"size": args.chunk_size, "overlap": args.overlap}
        chunks = chunk_corpus(corpus, args.chunker, **sizes)
        raw_path = Path(args.raw or Path(args.out).with_suffix(".questions.jsonl"))
        print(f"{len(corpus)} documents -> {len(chunks)} chunks", file=sys.stderr)
    gen = make_generator(args.generator, n=args.questions, second_pass=not args.no_second_pass, prompt=args.prompt)
    rows = generate_questions(chunks, gen, raw_path, limit=args.limit)
    failed = [r for r in rows if r.get("error")]
    if failed:
        warn(f"{raw_path}: {len(failed)} of {len(rows)} chunks failed ({failed[0]['error']}); run again to retry them")
    kept, report = clean_generated([r for r in rows if not r.get("error")])
    print(report, file=sys.stderr)
    samples = samples_from_generated(kept, kind=args.kind)
    if not samples:
        raise RagcookError(f"samples build: no question survived for {len(chunks)} chunks ({len(failed)} failed)")
    write_samples(samples, args.out)
    print(f"{len(samples)} samples -> {args.out} (questions: {raw_path})", file=sys.stderr)
    return 0


def cmd_mine(args: argparse.Namespace) -> int:
    from ragcook.text.chunk import chunk_corpus, read_corpus
    from ragcook.train.negatives import mine_hard_negatives
    from ragcook.train.samples import read_samples, write_samples

    samples = read_samples(args.samples)
    if args.corpus:
        corpus = read_corpus(args.corpus)
        if args.chunk:
            pool = [c.text for c in chunk_corpus(corpus, "recursive", size=args.chunk_size, overlap=args.overlap)]
        else:
            pool = list(corpus.values())
        pool += [p for s in samples for p in s.pos]
    else:
        pool = None
    if args.lo >= args.hi:
        raise RagcookError(f"mine-negatives: --lo {args.lo} must be below --hi {args.hi}")
    mined = mine_hard_negatives(samples, pool, model=args.model, n=args.negatives, ranks=(args.lo, args.hi), seed=args.seed)
    short = sum(len(s.neg) < args.negatives for s in mined)
    if short:
        warn(f"mine-negatives: {short} of {len(mined)} samples got fewer than {args.negatives} negatives (too few passages)")
    write_samples(mined, args.out)
    print(f"{len(mined)} samples with up to {args.negatives} negatives -> {args.out}", file=sys.stderr)
    return 0


def cmd_insuranceqa(args: argparse.Namespace) -> int:
    from ragcook.train.insuranceqa import insuranceqa_samples
    from ragcook.train.samples import write_samples

    samples = insuranceqa_samples(
        split=args.split, profile=args.profile, n_neg=args.negatives, kind=args.kind, model=args.model,
        max_queries=args.queries,
    )  # fmt: skip
    write_samples(samples, args.out)
    print(f"{len(samples)} samples -> {args.out}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("samples", help="build fine-tuning samples (questions for chunks, hard negatives)")
    p.description = __doc__.split("\n\n")[0]
    sub = p.add_subparsers(dest="samples_command", required=True, metavar="ACTION")

    b = sub.add_parser("build", help="chunk a corpus, generate questions, clean, write FlagEmbedding JSONL")
    b.add_argument("--corpus", help="a .txt/.md/.rst file, a folder of them, or a BEIR corpus.jsonl")
    b.add_argument(
        "--data", choices=["insuranceqa"], help="instead of --corpus: extend the course's set for InsuranceQA (data/recipe/)"
    )
    b.add_argument(
        "--generator",
        default="local",
        choices=["local", "openai", "ict"],
        help="local: GGUF via xllamacpp (llm extra); openai: RAGCOOK_LLM_* endpoint; ict: no LLM",
    )
    b.add_argument("--out", type=out_file, required=True, help="samples JSONL to write")
    b.add_argument("--raw", type=out_file, help="generation file (resumable; default: OUT with .questions.jsonl)")
    b.add_argument("--chunker", default="recursive", choices=["recursive", "tokens", "sentences"])
    b.add_argument("--chunk-size", type=positive_int, default=192, help="tokens per chunk (default: %(default)s)")
    b.add_argument("--overlap", type=non_negative_int, default=16, help="tokens shared by neighbours (default: %(default)s)")
    b.add_argument("--questions", type=positive_int, default=3, help="questions asked per chunk (default: %(default)s)")
    b.add_argument("--no-second-pass", action="store_true", help="skip the 'one best question' pass")
    b.add_argument(
        "--prompt", default="source", choices=["source", "llamaindex"], help="first-pass prompt (default: %(default)s)"
    )
    b.add_argument("--kind", default="qd", choices=["qd", "qq"], help="sample type (default: %(default)s)")
    b.add_argument("--limit", type=non_negative_int, help="generate for at most this many new chunks")
    b.set_defaults(func=cmd_build)

    m = sub.add_parser("mine-negatives", help="add hard negatives ranked by the base model")
    m.add_argument("--samples", required=True, help="samples JSONL")
    m.add_argument("--corpus", help="passages to mine from (default: the samples' positives)")
    m.add_argument("--chunk", action="store_true", help="chunk the corpus documents before mining")
    m.add_argument("--chunk-size", type=positive_int, default=192)
    m.add_argument("--overlap", type=non_negative_int, default=16)
    m.add_argument("--out", type=out_file, required=True)
    add_model(m, help="the model that ranks the passages")
    m.add_argument("--negatives", type=positive_int, default=7, help="negatives per query (default: %(default)s)")
    m.add_argument("--lo", type=positive_int, default=10, help="first rank to draw from (default: %(default)s)")
    m.add_argument("--hi", type=positive_int, default=100, help="last rank to draw from (default: %(default)s)")
    m.add_argument("--seed", type=int, default=13)
    m.set_defaults(func=cmd_mine)

    q = sub.add_parser("from-insuranceqa", help="samples from InsuranceQA questions with mined negatives")
    q.add_argument("--split", default="train", choices=["train", "valid"])
    q.add_argument("--profile", default="small", choices=["small", "full"])
    q.add_argument("--kind", default="qa", choices=["qa", "qq"])
    q.add_argument("--negatives", type=non_negative_int, default=7, help="negatives per query, 0 for none (default: %(default)s)")
    q.add_argument("--queries", type=positive_int, help="use at most this many questions (default: all)")
    add_model(q, help="the model that mines the negatives")
    q.add_argument("--out", type=out_file, required=True)
    q.set_defaults(func=cmd_insuranceqa)
