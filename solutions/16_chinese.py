"""Solutions to notebook 16's exercises (checked by tests/test_exercises.py)."""

import re

import numpy as np


def char_bigrams(text):
    """Overlapping pairs of characters within each run of word characters (a run of one is itself)."""
    out = []
    for run in re.findall(r"\w+", text):
        out += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return out


def sense_gap(cos, labels):
    """Mean cosine of pairs with the same label (not a text with itself) minus that of pairs with different labels."""
    labels = np.asarray(labels)
    same = (labels[:, None] == labels[None, :]) & ~np.eye(len(labels), dtype=bool)
    diff = labels[:, None] != labels[None, :]
    cos = np.asarray(cos, dtype=float)
    return cos[same].mean() - cos[diff].mean()
