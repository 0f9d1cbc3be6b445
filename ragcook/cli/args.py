"""Arguments every subcommand shares, and checks that turn bad values into one-line errors.

One vocabulary across subcommands: ``--model`` names a model (a bundled name or a folder),
``--data`` / ``--split`` / ``--profile`` name a dataset, and a count option is named for what it
counts (``--negatives``, ``--queries``, ``--questions``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ragcook.models import DEFAULT_MODEL


def positive_int(text: str) -> int:
    """An integer >= 1 (``--k 0`` would score every query 0 and say nothing)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def unit_float(text: str) -> float:
    """A number in [0, 1] (a fusion weight)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """A number > 0 (a learning rate, a temperature)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value}")
    return value


def _file_above(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` if it is a file (then nothing can be created there)."""
    for parent in path.absolute().parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def out_folder(text: str) -> Path:
    """A folder to write into: it may not exist yet, but it may not be a file or lie under one."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} exists and is a file, not a folder")
    if above := _file_above(path):
        raise argparse.ArgumentTypeError(f"{path}: {above} is a file, not a folder")
    return path


def out_file(text: str) -> Path:
    """A file to write (or append to): it may not exist yet, but it may not be a folder or lie under a file."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder; name a file")
    if above := _file_above(path):
        raise argparse.ArgumentTypeError(f"{path}: {above} is a file, not a folder")
    return path


def add_model(p: argparse.ArgumentParser, help: str = "bundled model name or a Hugging Face folder path") -> None:
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"{help} (default: %(default)s)")


def add_data(p: argparse.ArgumentParser, split: str = "test", splits: tuple[str, ...] | None = None) -> None:
    """``--data``, ``--split``, ``--profile`` and ``--lang``."""
    p.add_argument(
        "--data",
        default="insuranceqa",
        help="'insuranceqa', 'insuranceqa:zh' (machine-translated Chinese) or a BEIR folder path (default: %(default)s)",
    )
    p.add_argument("--split", default=split, choices=splits, help="split (default: %(default)s)")
    p.add_argument(
        "--profile",
        default="small",
        choices=["small", "full"],
        help="InsuranceQA size: 'small' fits a laptop (500 test queries, 2,000 answers), 'full' is everything",
    )
    p.add_argument(
        "--lang", choices=["en", "zh"], default=None,
        help="language of a BEIR folder (default: its ragcook.json, else detected from the text)",
    )  # fmt: skip
