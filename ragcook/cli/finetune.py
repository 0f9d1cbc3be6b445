"""``ragcook finetune``: fine-tune a bi-encoder on a JSONL samples file (query, pos, neg)."""

from __future__ import annotations

import argparse
import sys

from ragcook.cli.args import add_model, non_negative_int, out_folder, positive_float, positive_int


def cmd_finetune(args: argparse.Namespace) -> int:
    from ragcook.train.finetune import finetune

    kw = dict(max_steps=args.max_steps, batch_size=args.batch_size, lr=args.lr)
    if args.backend == "st":
        kw.update(
            max_seq_length=args.max_seq_length,
            n_negatives=args.negatives,
            save_steps=args.save_steps,
            keep_checkpoints=args.keep_checkpoints,
        )
    else:
        kw.update(
            passage_max_len=args.max_seq_length,
            temperature=args.temperature,
            save_steps=args.save_steps,
            resume_checkpoint=args.resume,
            train_group_size=args.negatives + 1,
            query_instruction=args.query_instruction,
        )
    res = finetune(args.samples, args.model, args.out, backend=args.backend, **kw)
    losses = [r["loss"] for r in res.log if "loss" in r]
    first_last = f"loss {losses[0]:.4f} -> {losses[-1]:.4f}" if losses else "no loss logged"
    resumed = f" (resumed from {res.resumed_from})" if res.resumed_from else ""
    print(
        f"model: {res.path}{resumed}\n{first_last} in {res.seconds:.0f} s\nlog: {res.log_path}\nplot: {res.plot_path}",
        file=sys.stderr,
    )
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "finetune",
        help="fine-tune an embedding model on JSONL samples",
        description="Fine-tune a bi-encoder on {query, pos, neg} JSONL samples. Writes checkpoints, "
        "resumes from the last one after an interruption, logs the loss to loss.jsonl and plots loss.png.",
    )
    p.add_argument("--samples", required=True, help="JSONL file, one {query, pos: [..], neg: [..]} per line")
    add_model(p, help="base model to fine-tune: bundled name or Hugging Face folder")
    p.add_argument("--out", type=out_folder, required=True, help="output folder (the model, loss.jsonl, loss.png)")
    p.add_argument(
        "--backend",
        choices=["st", "flag"],
        default="st",
        help="st = sentence-transformers MNRL; flag = FlagEmbedding via torchrun (default: %(default)s)",
    )
    p.add_argument("--max-steps", type=positive_int, default=20, help="optimizer steps (default: %(default)s)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="(default: %(default)s)")
    p.add_argument("--lr", type=positive_float, default=1e-4, help="learning rate (default: %(default)s)")
    p.add_argument(
        "--max-seq-length", type=positive_int, default=64, help="passage tokens during training (default: %(default)s)"
    )
    p.add_argument("--negatives", type=non_negative_int, default=0, help="hard negatives per query to use (default: %(default)s)")
    p.add_argument("--save-steps", type=positive_int, default=10, help="checkpoint every N steps (default: %(default)s)")
    p.add_argument("--keep-checkpoints", action="store_true", help="st: keep checkpoints after the model is saved")
    p.add_argument("--resume", action="store_true", help="flag: resume from the last checkpoint (st always resumes)")
    p.add_argument("--temperature", type=positive_float, default=0.05, help="flag: InfoNCE temperature (default: %(default)s)")
    p.add_argument("--query-instruction", default=None, help="flag: instruction prepended to queries")
    p.set_defaults(func=cmd_finetune)
