"""Exercises of notebook 14 (vector size: Matryoshka truncation, quantisation, memory)."""

from __future__ import annotations

import numpy as np


def _truncate_and_normalise(fn) -> None:
    v = np.random.default_rng(14).standard_normal((6, 16)).astype(np.float32) * 2.5
    got = np.asarray(fn(v, 4), dtype=np.float64)
    assert got.shape == (6, 4), f"keep the first 4 numbers of each of the 6 vectors: expected shape (6, 4), got {got.shape}"
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5), "each truncated vector must have length 1 again"
    want = v[:, :4] / np.linalg.norm(v[:, :4], axis=1, keepdims=True)
    assert np.allclose(got, want, atol=1e-5), "keep the *first* dim numbers (v[:, :dim]), then divide each row by its norm"


def _hamming_distances(fn) -> None:
    rng = np.random.default_rng(14)
    q = np.packbits(rng.random((3, 24)) > 0.5, axis=-1)
    d = np.packbits(rng.random((5, 24)) > 0.5, axis=-1)
    got = np.asarray(fn(q, d))
    want = (np.unpackbits(q, axis=-1)[:, None, :] != np.unpackbits(d, axis=-1)[None, :, :]).sum(axis=-1)
    assert got.shape == (3, 5), f"one distance per (query, document) pair: expected shape (3, 5), got {got.shape}"
    assert np.array_equal(got, want), "count the *bits* that differ (XOR the bytes, then unpack and count), not the bytes"
    assert not np.asarray(fn(d, d)).diagonal().any(), "a code is at distance 0 from itself"


def _index_megabytes(fn) -> None:
    cases = {(1_000_000, 384, "float32"): 1536.0, (1_000_000, 384, "int8"): 384.0, (1_000_000, 384, "binary"): 48.0,
             (2_000, 128, "int8"): 0.256, (10, 12, "binary"): 0.00002}  # fmt: skip
    for (n, dim, precision), want in cases.items():
        got = fn(n, dim, precision)
        hint = " (binary packs 8 numbers per byte, rounding up to whole bytes per vector)" if precision == "binary" else ""
        assert abs(got - want) < 1e-9, (
            f"index_megabytes({n}, {dim}, {precision!r}) should be {want} MB (1 MB = 10**6 bytes){hint}, got {got}"
        )


CHECKS = {
    "14.1": ("truncate_and_normalise", _truncate_and_normalise),
    "14.2": ("hamming_distances", _hamming_distances),
    "14.3": ("index_megabytes", _index_megabytes),
}
