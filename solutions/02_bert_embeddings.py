"""Solutions to notebook 02's exercises (checked by tests/test_exercises.py)."""

import numpy as np


def mean_pool(token_vectors, attention_mask):
    """Mean of each text's real token vectors: padding (mask 0) is left out of sum and count."""
    m = np.asarray(attention_mask, dtype=np.float64)[..., None]
    return (token_vectors * m).sum(axis=1) / m.sum(axis=1)


def max_pool(token_vectors, attention_mask):
    """Element-wise max over each text's real token vectors: padding set to -inf first."""
    m = np.asarray(attention_mask)[..., None] > 0
    return np.where(m, token_vectors, -np.inf).max(axis=1)


def cls_pool(token_vectors, attention_mask):
    """The first position's vector ([CLS]) of each text; the mask is not needed."""
    return np.asarray(token_vectors)[:, 0]
