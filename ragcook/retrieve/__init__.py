"""Retrievers with one small interface: ``index(corpus)`` then ``search(queries, k) -> Run``.

- :class:`BM25` ranks by word overlap (bm25s; English stemming, Chinese via jieba).
- :class:`Dense` ranks by cosine similarity of bi-encoder vectors in a FAISS index.
- :class:`SparseRetriever` ranks by learned sparse weights (SPLADE, a BGE-M3-style head).
- :class:`Hybrid` fuses several retrievers (:mod:`ragcook.retrieve.fusion`).
- :mod:`ragcook.retrieve.topk` is the one exact top-k every search ends in.
- :mod:`ragcook.retrieve.vectordb` keeps chunks in Milvus (Lite, or a server by URI).
"""

from ragcook.retrieve.bm25 import BM25, bm25_tokens
from ragcook.retrieve.dense import Dense
from ragcook.retrieve.fusion import NORMS, Hybrid, atan_fusion, fuse, minmax_fusion, rrf
from ragcook.retrieve.registry import REGISTRY, make
from ragcook.retrieve.sparse import DenseSparse, SparseRetriever, prune
from ragcook.retrieve.topk import scores_to_run, search, top_k, top_k_indices
from ragcook.types import Run

__all__ = [
    "BM25", "NORMS", "REGISTRY", "Dense", "DenseSparse", "Hybrid", "Run", "SparseRetriever", "atan_fusion",
    "bm25_tokens", "fuse", "make", "minmax_fusion", "prune", "rrf", "scores_to_run", "search", "top_k",
    "top_k_indices",
]  # fmt: skip
