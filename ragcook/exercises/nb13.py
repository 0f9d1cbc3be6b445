"""Exercises of notebook 13 (reranking)."""

from __future__ import annotations


def _rerank_top(fn) -> None:
    ranking = ["a", "b", "c", "d", "e"]
    scores = {"a": 0.1, "b": 2.0, "c": 0.7, "d": 9.0, "e": 5.0}
    got = fn(ranking, scores, 3)
    assert list(got) == ["b", "c", "a", "d", "e"], (
        f"rerank_top(ranking, scores, 3) should reorder only the top 3 (a, b, c) by score, then keep d, e: got {got}"
    )
    assert list(fn(ranking, scores, 5)) == ["d", "e", "b", "c", "a"], (
        "with depth 5 every document is reordered, highest score first"
    )
    assert list(fn(ranking, scores, 10)) == ["d", "e", "b", "c", "a"], "a depth larger than the list reorders the whole list"
    tied = fn(["x", "y", "z"], {"x": 1.0, "y": 1.0, "z": 1.0}, 3)
    assert list(tied) == ["x", "y", "z"], "equal scores keep the first stage's order (sorted() is stable)"
    assert ranking == ["a", "b", "c", "d", "e"], "return a new list; do not change the input"


def _interpolate(fn) -> None:
    first = {"a": 0.9, "b": 0.7, "c": 0.5}
    cross = {"a": -2.0, "b": 4.0, "c": 0.0}
    got = fn(first, cross, 0.5)
    want = {"a": 0.5, "b": 0.75, "c": 1 / 6}
    assert set(got) == set(want), f"return one score per document, got keys {sorted(got)}"
    for d, v in want.items():
        assert abs(got[d] - v) < 1e-9, (
            f"min-max normalise each dict to [0, 1], then alpha * cross + (1 - alpha) * first: {d} should be {v:.4f}, got {got[d]}"
        )
    only_first = fn(first, cross, 0.0)
    assert abs(only_first["a"] - 1.0) < 1e-9 and abs(only_first["c"]) < 1e-9, "alpha = 0 is the first stage alone, normalised"
    same = fn({"a": 1.0, "b": 1.0}, {"a": 3.0, "b": 1.0}, 0.5)
    assert abs(same["a"] - 0.5) < 1e-9 and abs(same["b"]) < 1e-9, (
        "a dict whose scores are all equal normalises to 0 (no division by 0)"
    )


CHECKS = {"13.1": ("rerank_top", _rerank_top), "13.2": ("interpolate", _interpolate)}
