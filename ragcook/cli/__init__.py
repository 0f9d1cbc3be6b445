"""The ``ragcook`` command: one module per subcommand, each with ``register(subparsers)``.

``ragcook eval``      evaluate retrievers on a dataset: a table, JSON, CSV and a bar chart
``ragcook run``       the main job: the end-to-end pipeline on the bundled data, with a report
``ragcook finetune``  fine-tune an embedding model on a samples file
``ragcook samples``   build training samples: questions for chunks, hard negatives
``ragcook recipe``    the source's recipe on a folder of documents, to a fine-tuned model
``ragcook rewrite``   rewrite queries into search keywords with an LLM

Every failure a reader can cause ends in one line, ``ragcook: error: ...``, and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from ragcook.errors import RagcookError

SUBCOMMANDS = ("eval", "run", "finetune", "samples", "recipe", "rewrite")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``ragcook: error: ...`` and exit code 2, like every other failure."""

    def error(self, message: str):
        self.exit(2, f"ragcook: error: {self.prog.removeprefix('ragcook ')}: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(prog="ragcook", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"ragcook.cli.{name}").register(sub)
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
    except OSError as e:  # the disk, not the data: full, read-only, a path that cannot be made
        where = f"{e.filename}: " if e.filename else ""
        print(f"ragcook: error: {where}{(e.strerror or str(e)).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ragcook: interrupted", file=sys.stderr)
        return 130
    print(f"done in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
