"""Smaller vectors: fewer dimensions (Matryoshka truncation) and fewer bits (int8, binary), with rescoring.

A float32 vector of 384 numbers takes 1,536 bytes; a million of them, 1.5 GB of memory. Three
ways to shrink the index, each losing some ranking quality:

- **truncate** to the first ``d`` dimensions and renormalise (works well only for a model trained
  for it: :mod:`ragcook.train.matryoshka`);
- **int8** (scalar) quantisation: each dimension's range, measured on calibration vectors (the
  corpus), is cut into 256 steps; 1 byte per number. sentence-transformers' ``quantize_embeddings``
  makes the codes; FAISS's ``IndexScalarQuantizer`` (``QT_8bit_direct_signed``) searches them by
  the integer dot product of query codes and document codes;
- **binary** quantisation: keep the sign of each number, 1 bit (``np.packbits``); FAISS's
  ``IndexBinaryFlat`` ranks by Hamming distance (differing bits), which for ±1 vectors is the dot
  product in disguise: ``q·d = dim - 2 * hamming``.

**Rescoring** takes ``rescore_multiplier * k`` candidates from the quantised index and ranks them
again with the *float* query against the stored codes turned back into numbers (dequantised int8,
or ±1 bits): no float document vector is kept, so memory stays that of the codes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL
from ragcook.retrieve.dense import Dense
from ragcook.retrieve.topk import top_k_indices
from ragcook.types import Run

#: Bits per stored number.
PRECISIONS = {"float32": 32, "int8": 8, "binary": 1}


def truncate(vectors: np.ndarray, dim: int) -> np.ndarray:
    """The first ``dim`` numbers of each vector, rescaled to unit length (so a dot product is a cosine again)."""
    v = np.asarray(vectors, dtype=np.float32)
    if not 0 < dim <= v.shape[-1]:
        raise RagcookError(f"truncate: dim must be in 1..{v.shape[-1]}, got {dim}")
    v = v[..., :dim]
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norms == 0, 1, norms)


def bytes_per_vector(dim: int, precision: str = "float32") -> int:
    """Bytes one stored vector takes: 4 per number in float32, 1 in int8, 1 per 8 numbers in binary."""
    if precision not in PRECISIONS:
        raise RagcookError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return (dim * PRECISIONS[precision] + 7) // 8


def memory_bytes(n_docs: int, dim: int, precision: str = "float32") -> int:
    """Bytes of an index of ``n_docs`` vectors (int8 adds its calibration: a float32 min and max per dimension)."""
    return n_docs * bytes_per_vector(dim, precision) + (2 * dim * 4 if precision == "int8" else 0)


@dataclass
class QuantizedIndex:
    """Document codes, what is needed to read them back, and the FAISS index that searches them."""

    precision: str  #: "int8" or "binary"
    codes: np.ndarray  #: int8 (n, dim), or packed bits uint8 (n, dim / 8)
    dim: int
    ranges: np.ndarray | None  #: int8 only: (2, dim) minimum and maximum per dimension, from the calibration vectors
    faiss_index: object

    def __len__(self) -> int:
        return len(self.codes)


def quantize(vectors: np.ndarray, precision: str, ranges: np.ndarray | None = None) -> np.ndarray:
    """int8 codes (with ``ranges``) or packed sign bits, with sentence-transformers' ``quantize_embeddings``."""
    from sentence_transformers.util.quantization import quantize_embeddings

    v = np.asarray(vectors, dtype=np.float32)
    if precision == "int8":
        if ranges is None:
            raise RagcookError("quantize: int8 needs ranges (min and max per dimension) from calibration vectors")
        return quantize_embeddings(v, precision="int8", ranges=ranges)
    if precision == "binary":
        return quantize_embeddings(v, precision="ubinary")
    raise RagcookError(f"quantize: precision must be 'int8' or 'binary', got {precision!r}")


def build_index(doc_vecs: np.ndarray, precision: str, calibration: np.ndarray | None = None) -> QuantizedIndex:
    """Quantise the documents and index the codes in FAISS; int8 ranges come from ``calibration`` (default: the documents)."""
    import faiss

    docs = np.asarray(doc_vecs, dtype=np.float32)
    dim = docs.shape[1]
    ranges = None
    if precision == "int8":
        cal = docs if calibration is None else np.asarray(calibration, dtype=np.float32)
        ranges = np.vstack([cal.min(axis=0), cal.max(axis=0)])
        codes = quantize(docs, "int8", ranges)
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit_direct_signed, faiss.METRIC_INNER_PRODUCT)
        index.add(codes.astype(np.float32))  # stores the int8 values exactly, 1 byte each
    elif precision == "binary":
        codes = quantize(docs, "binary")
        index = faiss.IndexBinaryFlat(codes.shape[1] * 8)
        index.add(codes)
    else:
        raise RagcookError(f"build_index: precision must be 'int8' or 'binary', got {precision!r}")
    return QuantizedIndex(precision, codes, dim, ranges, index)


def dequantize(index: QuantizedIndex, codes: np.ndarray) -> np.ndarray:
    """Codes back to numbers: int8 to the middle of their step (``min + step * (code + 128.5)``), bits to ±1."""
    if index.precision == "int8":
        lo, hi = index.ranges
        step = np.where(hi > lo, (hi - lo) / 255, 1).astype(np.float32)
        return lo + step * (codes.astype(np.float32) + 128.5)
    bits = np.unpackbits(codes, axis=-1)[..., : index.dim]
    return bits.astype(np.float32) * 2 - 1


def quantized_search(index: QuantizedIndex, query_vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The quantised search alone: (scores, document rows) of the ``k`` best per query, best first.

    int8: integer dot product of query codes and document codes. Binary: ``dim - 2 * hamming``,
    the dot product of the ±1 vectors.
    """
    q = np.asarray(query_vecs, dtype=np.float32)
    k = min(int(k), len(index))
    if index.precision == "int8":
        return index.faiss_index.search(quantize(q, "int8", index.ranges).astype(np.float32), k)
    hamming, rows = index.faiss_index.search(quantize(q, "binary"), k)
    return (index.dim - 2 * hamming).astype(np.float32), rows


def rescore(query_vecs: np.ndarray, candidates: np.ndarray, candidate_vecs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank each query's candidates again by float dot product: (scores, candidate ids) of the ``k`` best.

    ``candidates`` is (queries, m) document ids, ``candidate_vecs`` their vectors (queries, m, dim):
    float, or dequantised codes.
    """
    scores = np.einsum("qd,qmd->qm", np.asarray(query_vecs, dtype=np.float32), candidate_vecs)
    best = top_k_indices(scores, k)
    return np.take_along_axis(scores, best, axis=1), np.take_along_axis(candidates, best, axis=1)


def search_rescored(index: QuantizedIndex, query_vecs: np.ndarray, k: int, rescore_multiplier: int = 4):
    """``rescore_multiplier * k`` candidates from the quantised index, rescored with the float query (0: no rescoring)."""
    if rescore_multiplier <= 0:
        return quantized_search(index, query_vecs, k)
    _, cands = quantized_search(index, query_vecs, k * rescore_multiplier)
    return rescore(query_vecs, cands, dequantize(index, index.codes[cands]), k)


def to_run(scores: np.ndarray, rows: np.ndarray, query_ids: list[str], doc_ids: list[str]) -> Run:
    """(scores, document rows) per query as a :data:`~ragcook.types.Run` (FAISS's -1 padding dropped)."""
    return {q: {doc_ids[int(j)]: float(s) for s, j in zip(sc, rw) if j >= 0} for q, sc, rw in zip(query_ids, scores, rows)}


def searcher(doc_vecs: np.ndarray, dim: int | None = None, precision: str = "float32", rescore_multiplier: int = 0):
    """A function ``(query vectors, k) -> (scores, document rows)`` over ``doc_vecs`` truncated to ``dim`` and stored in ``precision``.

    float32 is the exact search of :mod:`ragcook.retrieve.topk` (one matrix product, the one top-k);
    int8 and binary are :func:`build_index`, with rescoring of ``rescore_multiplier * k`` candidates
    (0: none). Queries are truncated alike.
    """
    if precision not in PRECISIONS:
        raise RagcookError(f"searcher: precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    shrink = (lambda v: truncate(v, dim)) if dim else (lambda v: np.asarray(v, dtype=np.float32))
    docs = shrink(doc_vecs)
    if precision == "float32":

        def exact(q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            scores = shrink(q) @ docs.T
            rows = top_k_indices(scores, k)
            return np.take_along_axis(scores, rows, axis=1), rows

        return exact
    index = build_index(docs, precision)
    return lambda q, k: search_rescored(index, shrink(q), k, rescore_multiplier)


class CompressedDense:
    """A bi-encoder whose stored vectors are truncated (``dim``) and/or quantised (``precision``).

    ``precision="float32"`` searches exactly; ``"int8"`` and ``"binary"`` search their FAISS index
    and rescore ``rescore_multiplier * k`` candidates (0: no rescoring). Vectors come from
    :class:`~ragcook.retrieve.dense.Dense`, so they are cached on disk.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        dim: int | None = None,
        precision: str = "float32",
        rescore_multiplier: int = 4,
        max_seq_length: int | None = 128,
        name: str | None = None,
    ):
        if precision not in PRECISIONS:
            raise RagcookError(f"CompressedDense: precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.dense = Dense(str(model), max_seq_length=max_seq_length, show_progress=False)
        self.dim, self.precision, self.rescore_multiplier = dim, precision, rescore_multiplier
        self.name = name or f"dense-{dim or 'full'}-{precision}"
        self._ids: list[str] = []
        self._search = None

    def index(self, corpus: dict[str, str]) -> CompressedDense:
        self._ids = list(corpus)
        docs = self.dense.encode(list(corpus.values()))
        self._search = searcher(docs, self.dim, self.precision, self.rescore_multiplier)
        return self

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        if self._search is None:
            raise RagcookError("CompressedDense: call index(corpus) before search()")
        qids = list(queries)
        qv = self.dense.encode([queries[q] for q in qids])
        return to_run(*self._search(qv, k), qids, self._ids)
