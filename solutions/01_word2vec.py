"""Solutions to notebook 01's exercises (checked by tests/test_exercises.py)."""

import numpy as np


def most_similar(vectors, words, word, topn):
    """The topn words whose rows have the highest cosine with word's row, word itself left out."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cos = unit @ unit[words.index(word)]
    return [words[j] for j in np.argsort(-cos) if words[j] != word][:topn]


def analogy(vectors, words, a, b, c):
    """a : b :: c : ? by 3CosAdd: the word nearest to b - a + c (unit vectors), question words left out."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    target = unit[words.index(b)] - unit[words.index(a)] + unit[words.index(c)]
    cos = unit @ target / np.linalg.norm(target)
    return next(words[j] for j in np.argsort(-cos) if words[j] not in (a, b, c))
