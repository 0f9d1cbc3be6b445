"""Is a difference real? Paired tests and bootstrap intervals over per-query scores.

A mean over 500 questions moves by a point or two with the sample of questions alone. Two
systems scored on the *same* questions are compared question by question (a paired test),
which is far more sensitive than comparing two intervals.
"""

from __future__ import annotations

import numpy as np

from ragcook.errors import RagcookError


def paired_test(a: dict[str, float], b: dict[str, float], n_boot: int = 2000, seed: int = 0) -> dict[str, float]:
    """Paired comparison of two per-query score dicts (b minus a).

    Returns the mean difference, a 95% bootstrap interval of it, and the two-sided p-value of a
    paired randomisation (sign-flip) test with ``n_boot`` permutations.
    """
    qids = sorted(set(a) & set(b))
    if not qids:
        raise RagcookError("paired_test: the two runs share no queries")
    d = np.array([b[q] - a[q] for q in qids])
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, len(d), size=(n_boot, len(d)))].mean(axis=1)
    signs = rng.choice([-1.0, 1.0], size=(n_boot, len(d)))
    null = np.abs((signs * d).mean(axis=1))
    p = (1 + np.sum(null >= abs(d.mean()) - 1e-12)) / (n_boot + 1)
    return {
        "diff": float(d.mean()),
        "ci_low": float(np.percentile(boots, 2.5)),
        "ci_high": float(np.percentile(boots, 97.5)),
        "p_value": float(p),
        "n": len(d),
    }


def bootstrap_ci(values, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of a mean."""
    v = np.asarray(list(values), dtype=float)
    means = v[np.random.default_rng(seed).integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
