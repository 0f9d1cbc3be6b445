"""Exercises of notebook 15 (multi-vector retrieval and BGE-M3's three modes)."""

from __future__ import annotations

import numpy as np


def _unit(rows) -> np.ndarray:
    m = np.asarray(rows, dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def _maxsim(fn) -> None:
    q = _unit([[1, 0], [0, 1]])
    d = _unit([[1, 0], [0.6, 0.8]])
    got = float(fn(q, d))
    assert abs(got - 1.8) < 1e-5, (
        f"query token 1 matches [1, 0] (cos 1), token 2 best matches [0.6, 0.8] (cos 0.8): 1.8, got {got}"
    )
    one = float(fn(q, _unit([[1, 1]])))
    assert abs(one - 2 * 0.70710677) < 1e-5, f"with one document token, every query token takes it: {2 * 0.7071:.4f}, got {one}"
    rng = np.random.default_rng(15)
    q, d = _unit(rng.normal(size=(4, 8))), _unit(rng.normal(size=(9, 8)))
    want = float((q @ d.T).max(axis=1).sum())
    got = float(fn(q, d))
    assert abs(got - want) < 1e-4, (
        f"on random unit vectors expected {want:.4f}, got {got:.4f} (max over document tokens, then sum)"
    )
    assert abs(float(fn(d, q)) - want) > 1e-3, "MaxSim is not symmetric: the max runs over the *document's* tokens"


def _best_matches(fn) -> None:
    q = _unit([[1, 0], [0, 1], [-1, 0.1]])
    d = _unit([[0.6, 0.8], [1, 0], [-1, 0]])
    got = [int(i) for i in fn(q, d)]
    assert got == [1, 0, 2], f"each query token's best document token (its index), expected [1, 0, 2], got {got}"


def _simplex_weights(fn) -> None:
    grid = [tuple(round(float(x), 6) for x in w) for w in fn(0.25)]
    assert len(grid) == 15, f"step 0.25 gives 5 values per weight and C(4 + 2, 2) = 15 triples adding up to 1, got {len(grid)}"
    assert len(set(grid)) == 15, "no triple twice"
    assert all(len(w) == 3 and min(w) >= 0 and abs(sum(w) - 1) < 1e-6 for w in grid), "three weights >= 0 adding up to 1"
    assert {(1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.25, 0.25, 0.5)} <= set(grid), "the corners and inner points belong too"
    assert len(list(fn(0.1))) == 66, "step 0.1 gives 66 triples"


CHECKS = {
    "15.1": ("maxsim", _maxsim),
    "15.2": ("best_matches", _best_matches),
    "15.3": ("simplex_weights", _simplex_weights),
}
