"""Solutions to notebook 11's exercises (checked by tests/test_exercises.py)."""

import random


def draw_negatives(ranked, positives, lo, hi, n, seed):
    """The source's rule: n passages at random from ranks lo..hi, positives left out first."""
    window = [p for p in ranked if p not in positives][lo - 1 : hi]
    return random.Random(seed).sample(window, n)


def false_negative_share(negatives, relevant):
    """Share of drawn negatives that are in fact correct."""
    drawn = [(neg, rel) for negs, rel in zip(negatives, relevant) for neg in negs]
    return sum(neg in rel for neg, rel in drawn) / len(drawn)


def lift(base, tuned):
    """Mean per-query difference, and the shares of queries that improved and got worse."""
    qids = [q for q in base if q in tuned]
    diffs = [tuned[q] - base[q] for q in qids]
    return sum(diffs) / len(diffs), sum(d > 0 for d in diffs) / len(diffs), sum(d < 0 for d in diffs) / len(diffs)
