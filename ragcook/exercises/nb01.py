"""Exercises of notebook 01 (word2vec: cosine neighbours and analogies on a small word matrix)."""

from __future__ import annotations

import numpy as np

WORDS = ["man", "woman", "king", "queen", "apple", "pear", "car"]


def _matrix() -> np.ndarray:
    """A small word matrix with a 'gender' axis, a 'royalty' axis and a 'fruit' axis, rows of unequal length."""
    rng = np.random.default_rng(1)
    base = {"man": [1, 0, 0, 0], "woman": [-1, 0, 0, 0], "king": [1, 1, 0, 0], "queen": [-1, 1, 0, 0],
            "apple": [0, 0, 1, 0.2], "pear": [0, 0, 1, -0.2], "car": [0.3, 0.2, 0, 1]}  # fmt: skip
    m = np.array([base[w] for w in WORDS], dtype=np.float64) + 0.05 * rng.standard_normal((len(WORDS), 4))
    return m * np.array([[1.0], [3.0], [0.5], [2.0], [4.0], [0.3], [5.0]])  # lengths differ: cosine, not dot product


def _cosine(m: np.ndarray) -> np.ndarray:
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    return unit @ unit.T


def _most_similar(fn) -> None:
    m = _matrix()
    sims = _cosine(m)
    for word in ("apple", "king", "man"):
        i = WORDS.index(word)
        order = [WORDS[j] for j in np.argsort(-sims[i]) if j != i]
        got = list(fn(m, WORDS, word, 3))
        assert word not in got, f"most_similar(..., {word!r}, 3) must leave out {word!r} itself, got {got}"
        dots = [WORDS[j] for j in np.argsort(-(m @ m[i])) if j != i][:3]
        hint = " (that is the dot-product order: divide by the vectors' lengths first)" if got == dots != order[:3] else ""
        assert got == order[:3], (
            f"most_similar(m, words, {word!r}, 3) should be {order[:3]} (highest cosine first), got {got}{hint}"
        )


def _analogy(fn) -> None:
    m = _matrix()
    unit = m / np.linalg.norm(m, axis=1, keepdims=True)
    for a, b, c in (("man", "king", "woman"), ("king", "queen", "man"), ("woman", "man", "queen"), ("apple", "pear", "car")):
        target = unit[WORDS.index(b)] - unit[WORDS.index(a)] + unit[WORDS.index(c)]
        cos = unit @ target / np.linalg.norm(target)
        want = next(WORDS[j] for j in np.argsort(-cos) if WORDS[j] not in (a, b, c))
        got = fn(m, WORDS, a, b, c)
        assert got not in (a, b, c), (
            f"analogy(m, words, {a!r}, {b!r}, {c!r}) returned a question word, {got!r}: leave a, b and c out"
        )
        assert got == want, (
            f"{a} : {b} :: {c} : ? should be {want!r} (the word whose vector has the highest cosine with b - a + c), got {got!r}"
        )


CHECKS = {"01.1": ("most_similar", _most_similar), "01.2": ("analogy", _analogy)}
