"""Exercises of notebook 03 (sparse vs dense: BM25 by hand, and a weighted min-max hybrid)."""

from __future__ import annotations

import math

DOCS = [
    "my car insurance claim was denied after the accident".split(),
    "term life insurance pays a death benefit".split(),
    "does car insurance cover a rental car".split(),
    "car car car".split(),
]


def _term_weight(term: str, doc: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> float:
    """The reference: ``ragcook.retrieve.bm25_by_hand.term_weight``, written out so that checking imports no model code."""
    tf, n, df = doc.count(term), len(docs), sum(term in d for d in docs)
    if tf == 0:
        return 0.0
    avgdl = sum(map(len, docs)) / n
    return math.log(1 + (n - df + 0.5) / (df + 0.5)) * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))


def _minmax_fuse(bm25: dict[str, float], dense: dict[str, float], weight: float) -> dict[str, float]:
    """The reference: ``ragcook.retrieve.fusion.fuse`` with ``minmax`` for one query, written out."""

    def scaled(run: dict[str, float]) -> dict[str, float]:
        lo, hi = min(run.values()), max(run.values())
        return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in run.items()}

    a, b = scaled(bm25), scaled(dense)
    return {d: (1 - weight) * a.get(d, 0.0) + weight * b.get(d, 0.0) for d in {**bm25, **dense}}


def _bm25_term_weight(fn) -> None:
    for term, i in (("car", 0), ("car", 2), ("car", 3), ("insurance", 1), ("claim", 0), ("claim", 1), ("benefit", 1)):
        want = _term_weight(term, DOCS[i], DOCS)
        got = fn(term, DOCS[i], DOCS)
        if want == 0:
            assert got == 0, f"{term!r} is not in document {i}: its weight there is 0, got {got}"
            continue
        n, df = len(DOCS), sum(term in d for d in DOCS)
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        hint = ""
        if abs(got - idf) < 1e-9:
            hint = " (that is idf alone: multiply by the saturated tf part)"
        elif abs(got - idf * DOCS[i].count(term) / (DOCS[i].count(term) + 1.5)) < 1e-9:
            hint = " (the length normalisation is missing: k1 * (1 - b + b * |d| / avgdl), avgdl the mean document length)"
        assert abs(got - want) < 1e-9, f"bm25_term_weight({term!r}, docs[{i}], docs) should be {want:.6f}, got {got}{hint}"
    a, b = fn("car", DOCS[3], DOCS), fn("car", ["car"], DOCS)
    assert a < 3 * b, "three repeats of a word must count less than three times one: tf saturates (k1)"


def _hybrid_scores(fn) -> None:
    cases = [
        ({"d1": 12.0, "d2": 7.0, "d3": 2.0}, {"d1": 0.61, "d2": 0.83, "d4": 0.55}, 0.7),
        ({"a": 3.0, "b": 1.0}, {"b": 0.9, "c": 0.2, "a": 0.4}, 0.5),
        ({"a": 3.0, "b": 1.0}, {"b": 0.9, "c": 0.2, "a": 0.4}, 0.0),
    ]
    for bm25, dense, w in cases:
        want = _minmax_fuse(bm25, dense, w)
        got = fn(bm25, dense, w)
        assert set(got) == set(want), f"every document of either run gets a score: want {sorted(want)}, got {sorted(got)}"
        for d, s in want.items():
            assert abs(got[d] - s) < 1e-9, (
                f"hybrid_scores({bm25}, {dense}, {w}): document {d!r} should score {s:.4f}, got {got[d]:.4f} "
                "(min-max scale each run to [0, 1], a missing document counts 0, then (1 - weight) * bm25 + weight * dense)"
            )


CHECKS = {"03.1": ("bm25_term_weight", _bm25_term_weight), "03.2": ("hybrid_scores", _hybrid_scores)}
