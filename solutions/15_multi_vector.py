"""Solutions to notebook 15's exercises (checked by tests/test_exercises.py)."""


def maxsim(q, d):
    """ColBERT's score: for each query token, its best cosine over the document's tokens, added up."""
    return float((q @ d.T).max(axis=1).sum())


def best_matches(q, d):
    """The index of the document token each query token matches best."""
    return (q @ d.T).argmax(axis=1).tolist()


def simplex_weights(step):
    """Every (w1, w2, w3) of non-negative multiples of ``step`` adding up to 1."""
    n = round(1 / step)
    return [(a / n, b / n, (n - a - b) / n) for a in range(n + 1) for b in range(n + 1 - a)]
