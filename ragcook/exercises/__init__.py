"""Checkers for the notebooks' exercises: each exercise asks for a small function, each checker
runs it on inputs whose right answer is known.

In a notebook::

    def hit_rate(run, qrels, k):      # the exercise: write this
        raise NotImplementedError

    check("00.1", hit_rate)           # the checker cell

A function still raising ``NotImplementedError`` is *skipped*, so a reader who leaves an exercise
runs the notebook to the end. A wrong answer fails with a hint. The solutions live in
``solutions/NN_*.py`` (one module per notebook, the same function names), and ``tests/
test_exercises.py`` runs every solution through its checker, so neither can rot.

Each ``nbNN`` module defines ``CHECKS``: exercise id -> (the function's name, the checker).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

#: exercise id ("13.1") -> (name of the function the reader writes, checker(function))
CHECKS: dict[str, tuple[str, Callable]] = {}


def _collect() -> None:
    if CHECKS:
        return
    for mod in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if mod.name.startswith("nb"):
            CHECKS.update(importlib.import_module(f"{__name__}.{mod.name}").CHECKS)


def check(exercise: str, answer) -> bool:
    """Run exercise ``exercise``'s checker on ``answer``: True if right, False if skipped; a wrong
    answer raises ``AssertionError`` with a hint."""
    _collect()
    if exercise not in CHECKS:
        raise KeyError(f"no exercise {exercise!r}; known: {', '.join(sorted(CHECKS))}")
    name, checker = CHECKS[exercise]
    try:
        checker(answer)
    except NotImplementedError:
        print(f"Exercise {exercise} ({name}) skipped: replace `raise NotImplementedError` with your code and run again.")
        return False
    print(f"Exercise {exercise} ({name}): correct.")
    return True


def exercises() -> dict[str, str]:
    """Every exercise id and the name of the function it asks for."""
    _collect()
    return {k: name for k, (name, _) in sorted(CHECKS.items())}
