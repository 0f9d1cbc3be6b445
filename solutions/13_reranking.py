"""Solutions to notebook 13's exercises (checked by tests/test_exercises.py)."""


def rerank_top(ranking, scores, depth):
    """The first ``depth`` documents sorted by score (ties keep their order), then the rest unchanged."""
    head = sorted(ranking[:depth], key=lambda d: -scores[d])
    return head + list(ranking[depth:])


def interpolate(first, cross, alpha):
    """alpha * min-max(cross) + (1 - alpha) * min-max(first), per document."""

    def minmax(scores):
        lo, hi = min(scores.values()), max(scores.values())
        return {d: (s - lo) / (hi - lo) if hi > lo else 0.0 for d, s in scores.items()}

    f, c = minmax(first), minmax(cross)
    return {d: alpha * c[d] + (1 - alpha) * f[d] for d in first}
