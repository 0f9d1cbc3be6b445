"""Exercises of notebook 16 (Chinese)."""

from __future__ import annotations

import numpy as np


def _char_bigrams(fn) -> None:
    got = fn("清华大学")
    assert list(got) == ["清华", "华大", "大学"], f"char_bigrams('清华大学') should be ['清华', '华大', '大学'], got {got}"
    got = fn("长度，长高")
    assert list(got) == ["长度", "长高"], f"punctuation splits the text: bigrams never cross '，', got {got}"
    assert list(fn("药")) == ["药"], "a run of one character is its own token"
    assert list(fn("A药和B药")) == ["A药", "药和", "和B", "B药"], "letters and digits count as characters too"
    assert list(fn("。！")) == [], "punctuation alone gives no token"


def _sense_gap(fn) -> None:
    cos = np.array([[1.0, 0.9, 0.2, 0.3], [0.9, 1.0, 0.4, 0.1], [0.2, 0.4, 1.0, 0.7], [0.3, 0.1, 0.7, 1.0]])
    labels = ["cháng", "cháng", "zhǎng", "zhǎng"]
    got = float(fn(cos, labels))
    want = (0.9 + 0.7) / 2 - (0.2 + 0.3 + 0.4 + 0.1) / 4
    assert abs(got - want) < 1e-9, (
        f"mean same-sense cosine (off the diagonal: a text with itself does not count) minus mean different-sense "
        f"cosine should be {want:.4f}, got {got:.4f}"
    )
    assert abs(float(fn(np.ones((3, 3)), ["a", "a", "b"]))) < 1e-9, "identical vectors give no gap"


CHECKS = {
    "16.1": ("char_bigrams", _char_bigrams),
    "16.2": ("sense_gap", _sense_gap),
}
