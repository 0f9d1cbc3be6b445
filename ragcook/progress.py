"""The one switch for progress bars: on in a terminal, off when ``TQDM_DISABLE`` is set.

Notebooks are executed for saving with ``TQDM_DISABLE=1`` so their stored outputs stay small;
a reader running them by hand sees the bars. Every long loop in ragcook asks :func:`enabled`.
"""

from __future__ import annotations

import os
import sys


def enabled(show: bool | None = None) -> bool:
    """``show`` if given, else on unless the ``TQDM_DISABLE`` environment variable is set."""
    return show if show is not None else not os.environ.get("TQDM_DISABLE")


def bar(iterable=None, total: int | None = None, desc: str = "", show: bool | None = None):
    """A tqdm bar on stderr (a no-op bar when :func:`enabled` says no)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not enabled(show), file=sys.stderr)
