"""``ragcook samples``: build fine-tuning samples for a domain.

``ragcook samples build``            chunk a corpus, generate questions, clean them, write samples
``ragcook samples mine-negatives``   add hard negatives from a corpus to a samples file
``ragcook samples from-insuranceqa`` samples from InsuranceQA questions, with mined negatives
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_build(args: argparse.Namespace) -> int:
    from ragcook.chunking import chunk_corpus, read_corpus
    from ragcook.clean import clean_generated
    from ragcook.generate import generate_questions, make_generator
    from ragcook.samples import samples_from_generated, write_jsonl

    corpus = read_corpus(args.corpus)
    sizes = {} if args.chunker == "sentences" else {"size": args.chunk_size, "overlap": args.overlap}
    chunks = chunk_corpus(corpus, args.chunker, **sizes)
    print(f"{len(corpus)} documents -> {len(chunks)} chunks", file=sys.stderr)
    gen = make_generator(args.generator, n=args.questions, second_pass=not args.no_second_pass)
    raw_path = Path(args.raw or Path(args.out).with_suffix(".questions.jsonl"))
    rows = generate_questions(chunks, gen, raw_path, limit=args.limit)
    kept, report = clean_generated(rows)
    print(report, file=sys.stderr)
    samples = samples_from_generated(kept, kind=args.kind)
    write_jsonl(samples, args.out)
    print(f"{len(samples)} samples -> {args.out} (questions: {raw_path})", file=sys.stderr)
    return 0


def cmd_mine(args: argparse.Namespace) -> int:
    from ragcook.chunking import chunk_corpus, read_corpus
    from ragcook.negatives import mine_hard_negatives
    from ragcook.samples import read_jsonl, write_jsonl

    samples = read_jsonl(args.samples)
    if args.corpus:
        corpus = read_corpus(args.corpus)
        if args.chunk:
            pool = [c.text for c in chunk_corpus(corpus, "recursive", size=args.chunk_size, overlap=args.overlap)]
        else:
            pool = list(corpus.values())
        pool += [p for s in samples for p in s.pos]
    else:
        pool = None
    mined = mine_hard_negatives(samples, pool, model=args.model, n=args.n, ranks=(args.lo, args.hi), seed=args.seed)
    write_jsonl(mined, args.out)
    print(f"{len(mined)} samples with {args.n} negatives -> {args.out}", file=sys.stderr)
    return 0


def cmd_insuranceqa(args: argparse.Namespace) -> int:
    from ragcook.samples import insuranceqa_samples, write_jsonl

    samples = insuranceqa_samples(
        split=args.split, profile=args.profile, n_neg=args.n, kind=args.kind, model=args.model, max_queries=args.max_queries
    )
    write_jsonl(samples, args.out)
    print(f"{len(samples)} samples -> {args.out}", file=sys.stderr)
    return 0


def cmd_rewrite(args: argparse.Namespace) -> int:
    from ragcook import data
    from ragcook.generate import LocalGGUF, OpenAIChat, rewrite_keywords

    ds = data.load(args.data, split=args.split, profile=args.profile).take(args.n)
    backend = LocalGGUF() if args.generator == "local" else OpenAIChat()
    out = rewrite_keywords(ds.queries, backend, args.out)
    print(f"{len(out)} rewritten queries -> {args.out}", file=sys.stderr)
    return 0


def register(subparsers) -> None:
    from ragcook.models import DEFAULT_MODEL

    p = subparsers.add_parser("samples", help="build fine-tuning samples (questions for chunks, hard negatives)")
    p.description = __doc__.split("\n\n")[0]
    sub = p.add_subparsers(dest="samples_command", required=True, metavar="ACTION")

    b = sub.add_parser("build", help="chunk a corpus, generate questions, clean, write FlagEmbedding JSONL")
    b.add_argument("--corpus", required=True, help="a .txt/.md/.rst file, a folder of them, or a BEIR corpus.jsonl")
    b.add_argument("--generator", default="local", choices=["local", "openai", "ict"],
                   help="local: GGUF via xllamacpp (llm extra); openai: RAGCOOK_LLM_* endpoint; ict: no LLM")
    b.add_argument("--out", required=True, help="samples JSONL to write")
    b.add_argument("--raw", help="generation file (resumable; default: OUT with .questions.jsonl)")
    b.add_argument("--chunker", default="recursive", choices=["recursive", "tokens", "sentences"])
    b.add_argument("--chunk-size", type=int, default=192, help="tokens per chunk (default: %(default)s)")
    b.add_argument("--overlap", type=int, default=16, help="tokens shared by neighbours (default: %(default)s)")
    b.add_argument("--questions", type=int, default=3, help="questions asked per chunk (default: %(default)s)")
    b.add_argument("--no-second-pass", action="store_true", help="skip the 'one best question' pass")
    b.add_argument("--kind", default="qd", choices=["qd", "qq"], help="sample type (default: %(default)s)")
    b.add_argument("--limit", type=int, help="generate for at most this many new chunks")
    b.set_defaults(func=cmd_build)

    m = sub.add_parser("mine-negatives", help="add hard negatives ranked by the base model")
    m.add_argument("--samples", required=True, help="samples JSONL")
    m.add_argument("--corpus", help="passages to mine from (default: the samples' positives)")
    m.add_argument("--chunk", action="store_true", help="chunk the corpus documents before mining")
    m.add_argument("--chunk-size", type=int, default=192)
    m.add_argument("--overlap", type=int, default=16)
    m.add_argument("--out", required=True)
    m.add_argument("--model", default=DEFAULT_MODEL)
    m.add_argument("--n", type=int, default=7, help="negatives per query (default: %(default)s)")
    m.add_argument("--lo", type=int, default=10, help="first rank to draw from (default: %(default)s)")
    m.add_argument("--hi", type=int, default=100, help="last rank to draw from (default: %(default)s)")
    m.add_argument("--seed", type=int, default=13)
    m.set_defaults(func=cmd_mine)

    q = sub.add_parser("from-insuranceqa", help="samples from InsuranceQA questions with mined negatives")
    q.add_argument("--split", default="train", choices=["train", "valid"])
    q.add_argument("--profile", default="small", choices=["small", "full"])
    q.add_argument("--kind", default="qa", choices=["qa", "qq"])
    q.add_argument("--n", type=int, default=7, help="negatives per query, 0 for none (default: %(default)s)")
    q.add_argument("--max-queries", type=int)
    q.add_argument("--model", default=DEFAULT_MODEL)
    q.add_argument("--out", required=True)
    q.set_defaults(func=cmd_insuranceqa)

    r = sub.add_parser("rewrite", help="rewrite queries into search keywords with an LLM (cached JSONL)")
    r.add_argument("--data", default="insuranceqa")
    r.add_argument("--split", default="test")
    r.add_argument("--profile", default="small", choices=["small", "full"])
    r.add_argument("--n", type=int, default=40, help="queries, sampled with the dataset's seed (default: %(default)s)")
    r.add_argument("--generator", default="local", choices=["local", "openai"])
    r.add_argument("--out", required=True)
    r.set_defaults(func=cmd_rewrite)
