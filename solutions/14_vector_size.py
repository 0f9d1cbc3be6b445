"""Solutions to notebook 14's exercises (checked by tests/test_exercises.py)."""

import numpy as np


def truncate_and_normalise(vectors, dim):
    """The first dim numbers of each vector, rescaled to length 1."""
    v = np.asarray(vectors, dtype=np.float32)[:, :dim]
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def hamming_distances(query_bits, doc_bits):
    """Differing bits between every packed query code and every packed document code."""
    xor = np.bitwise_xor(query_bits[:, None, :], doc_bits[None, :, :])
    return np.unpackbits(xor, axis=-1).sum(axis=-1)


def index_megabytes(n_docs, dim, precision):
    """Megabytes (10**6 bytes) taken by n_docs vectors of dim numbers stored in precision."""
    bits = {"float32": 32, "int8": 8, "binary": 1}[precision]
    return n_docs * ((dim * bits + 7) // 8) / 1e6
