"""Exercises of notebook 02 (BERT embeddings: pooling token vectors into one text vector)."""

from __future__ import annotations

import numpy as np


def _batch() -> tuple[np.ndarray, np.ndarray]:
    """Token vectors (3 texts, 5 positions, 4 dims) whose padded positions hold large junk, and their mask."""
    rng = np.random.default_rng(2)
    tokens = rng.standard_normal((3, 5, 4)) - 3.0  # mostly negative, so a max that lets a 0 in is wrong
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]])
    tokens[mask == 0] = 50.0  # padding: must play no part
    return tokens, mask


def _mean_pool(fn) -> None:
    tokens, mask = _batch()
    got = np.asarray(fn(tokens, mask), dtype=np.float64)
    assert got.shape == (3, 4), f"one vector per text: expected shape (3, 4), got {got.shape}"
    want = np.stack([tokens[i, mask[i] == 1].mean(axis=0) for i in range(3)])
    if np.allclose(got, tokens.mean(axis=1)):
        raise AssertionError("padding positions (mask 0) were averaged in: multiply by the mask, then divide by mask.sum()")
    wrong_count = (tokens * mask[..., None]).sum(axis=1) / tokens.shape[1]
    assert not np.allclose(got, wrong_count), "divide by the number of real tokens (mask.sum(axis=1)), not by all positions"
    assert np.allclose(got, want), "the mean of each text's real token vectors (mask 1) only"


def _max_pool(fn) -> None:
    tokens, mask = _batch()
    got = np.asarray(fn(tokens, mask), dtype=np.float64)
    assert got.shape == (3, 4), f"one vector per text: expected shape (3, 4), got {got.shape}"
    want = np.stack([tokens[i, mask[i] == 1].max(axis=0) for i in range(3)])
    assert not np.allclose(got, tokens.max(axis=1)), "padding positions (mask 0) won the max: leave them out"
    assert not (got == 0).any(), "a 0 came out: setting padding to 0 is not enough when real values are negative (use -inf)"
    assert np.allclose(got, want), "the element-wise max over each text's real token vectors (mask 1) only"


def _cls_pool(fn) -> None:
    tokens, mask = _batch()
    got = np.asarray(fn(tokens, mask), dtype=np.float64)
    assert got.shape == (3, 4), f"one vector per text: expected shape (3, 4), got {got.shape}"
    assert np.allclose(got, tokens[:, 0]), "[CLS] is the first position of each text: tokens[:, 0]"


CHECKS = {"02.1": ("mean_pool", _mean_pool), "02.2": ("max_pool", _max_pool), "02.3": ("cls_pool", _cls_pool)}
