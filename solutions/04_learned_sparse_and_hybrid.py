"""Solutions to notebook 04's exercises (checked by tests/test_exercises.py)."""

import numpy as np


def splade_weights(logits, mask):
    """SPLADE's term weights: log(1 + relu(logits)), max-pooled over the unmasked positions."""
    w = np.log1p(np.maximum(logits, 0.0))
    return w[np.asarray(mask) > 0].max(axis=0)


def rrf_scores(rankings, k):
    """Reciprocal rank fusion: each ranked list adds 1 / (k + rank) to the documents it holds."""
    scores = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return scores
