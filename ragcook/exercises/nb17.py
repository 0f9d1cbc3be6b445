"""Exercises of notebook 17 (evaluation: nDCG@k by hand, and an exact paired sign-flip test)."""

from __future__ import annotations

import itertools
import math

import numpy as np


def _ndcg(fn) -> None:
    ranking, grades = ["a", "b", "c", "d"], {"b": 2, "d": 1, "e": 3, "c": 0}
    want = (2 / math.log2(3)) / (3 + 2 / math.log2(3) + 1 / 2)
    got = float(fn(ranking, grades, 3))
    exp_gain = (3 / math.log2(3)) / (7 + 3 / math.log2(3) + 1 / 2)
    assert abs(got - exp_gain) > 1e-6, "use the grade itself as the gain (trec_eval's nDCG), not 2**grade - 1"
    only_retrieved = (2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert abs(got - only_retrieved) > 1e-6, (
        "the ideal ranking sorts *every* judged document by grade, retrieved or not (e, grade 3, was never retrieved)"
    )
    assert abs(got - want) < 1e-9, (
        f"ndcg(ranking, grades, 3) should be {want:.4f}: DCG = sum of grade / log2(rank + 1) over the top 3, "
        f"divided by the DCG of the ideal top 3; got {got:.4f}"
    )
    assert abs(float(fn(["e", "b", "d"], grades, 3)) - 1.0) < 1e-9, "the ideal ranking itself scores 1"
    assert float(fn(["a", "c"], {"c": 0}, 10)) == 0.0, "no document with grade > 0: nDCG is 0 (not a division by zero)"


def _reference_p(a, b) -> float:
    d = np.array([b[q] - a[q] for q in sorted(set(a) & set(b))])
    flips = np.array(list(itertools.product([-1.0, 1.0], repeat=len(d))))
    return float(np.mean(np.abs((flips * d).mean(axis=1)) >= abs(d.mean()) - 1e-12))


def _sign_flip_p(fn) -> None:
    a = {"q1": 0.5, "q2": 0.2, "q3": 0.9, "q4": 0.0, "q5": 0.4, "q6": 0.3}
    b = {"q1": 0.6, "q2": 0.5, "q3": 0.8, "q4": 0.4, "q5": 0.6, "q6": 0.3, "extra": 1.0}
    want = _reference_p(a, b)
    got = float(fn(a, b))
    d = np.array([b[q] - a[q] for q in a])
    one_sided = float(np.mean([(np.array(s) * d).mean() >= d.mean() - 1e-12 for s in itertools.product([-1, 1], repeat=6)]))
    assert abs(got - one_sided) > 1e-9, "two-sided: compare the *absolute* value of each flipped mean with |observed mean|"
    assert abs(got - want) < 1e-9, (
        f"sign_flip_p(a, b) should be {want:.4f}: over all 2**n sign patterns of the per-query differences b - a "
        f"(shared queries only; 'extra' is in b alone), the share whose |mean| >= |observed mean|; got {got:.4f}"
    )
    same = float(fn(a, dict(a)))
    assert abs(same - 1.0) < 1e-9, "two identical systems: every flip ties the observed difference 0, p = 1"
    far = {q: v + 1.0 for q, v in a.items()}
    assert abs(float(fn(a, far)) - 2 / 64) < 1e-9, (
        "b better on all 6 queries by the same amount: only 2 of 64 patterns tie, p = 2/64"
    )
    assert abs(float(fn(far, a)) - 2 / 64) < 1e-9, "the test is symmetric: swapping a and b gives the same p-value"


CHECKS = {"17.1": ("ndcg", _ndcg), "17.2": ("sign_flip_p", _sign_flip_p)}
