"""Solutions to notebook 17's exercises (checked by tests/test_exercises.py)."""

import itertools
import math


def ndcg(ranking, grades, k):
    """nDCG@k with gain = grade and discount log2(rank + 1); 0 when nothing is relevant."""
    dcg = sum(grades.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranking[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def sign_flip_p(a, b):
    """Exact two-sided paired randomisation test of b - a over the queries both score."""
    d = [b[q] - a[q] for q in a if q in b]
    observed = abs(sum(d) / len(d))
    patterns = list(itertools.product([-1, 1], repeat=len(d)))
    extreme = sum(abs(sum(s * x for s, x in zip(signs, d)) / len(d)) >= observed - 1e-12 for signs in patterns)
    return extreme / len(patterns)
