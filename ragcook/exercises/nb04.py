"""Exercises of notebook 04 (learned sparse retrieval and hybrid search)."""

from __future__ import annotations

import math


def _splade_weights(fn) -> None:
    import numpy as np

    logits = np.array([[2.0, -1.0, 0.5], [-3.0, 1.0, 4.0], [9.0, 9.0, 9.0]])
    mask = np.array([1, 1, 0])  # the third position is padding
    got = np.asarray(fn(logits, mask), dtype=float)
    want = np.array([math.log(3.0), math.log(2.0), math.log(5.0)])
    assert got.shape == (3,), f"one weight per vocabulary entry: shape (3,), got {got.shape}"
    assert np.allclose(got, want), (
        f"log(1 + relu(logit)), then the max over the positions whose mask is 1 (padding ignored): want {want.round(4)}, got {got.round(4)}"
    )
    neg = np.asarray(fn(np.array([[-1.0, -2.0]]), np.array([1])), dtype=float)
    assert np.allclose(neg, 0.0), "a word piece with only negative logits weighs 0 (relu): that is what makes the vector sparse"


def _rrf_scores(fn) -> None:
    from ragcook.retrieve.fusion import rrf

    bm25 = ["d1", "d2", "d3"]
    dense = ["d3", "d4", "d1"]
    got = fn([bm25, dense], 60)
    want = {"d1": 1 / 61 + 1 / 63, "d2": 1 / 62, "d3": 1 / 63 + 1 / 61, "d4": 1 / 62}
    assert isinstance(got, dict) and set(got) == set(want), (
        f"one score per document found by any list: want {sorted(want)}, got {got}"
    )
    assert all(abs(got[d] - want[d]) < 1e-12 for d in want), (
        "each list adds 1 / (k + rank) with rank 1 for its first document; a document missing from a list gets nothing from it"
    )
    runs = [{"q": {d: 10.0 - i for i, d in enumerate(r)}} for r in (bm25, dense)]
    lib = rrf(runs, k=60)["q"]  # the course's own fusion gives the same scores
    assert all(abs(got[d] - lib[d]) < 1e-12 for d in want), "compare with ragcook.retrieve.fusion.rrf"


CHECKS = {"04.1": ("splade_weights", _splade_weights), "04.2": ("rrf_scores", _rrf_scores)}
