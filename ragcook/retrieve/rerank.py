"""Retrieve, then rerank: a first stage returns ``depth`` documents, a cross-encoder rescores them.

A bi-encoder's cosine is cheap (one vector per document, computed once) and good at putting the
answer *somewhere* in the top 20, less good at putting it first. A cross-encoder reads the query
and each candidate together and scores the pair; it costs one transformer pass per pair, so it
only sees the first stage's top ``depth``. Documents the first stage ranked below ``depth`` keep
their order, after the reranked ones.

:class:`Rerank` has the retriever interface (``index(corpus)``, ``search(queries, k) -> Run``);
:func:`pair_scores` and :func:`rerank_run` are its two steps, usable on any run. Any cross-encoder
folder works (the course trains its own: :func:`ragcook.train.cross_encoder.ensure_cross_encoder`;
bge-reranker on disk is one argument away).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from ragcook import progress
from ragcook.cache import cached
from ragcook.encode.backends import ExportedEncoder, cache_tag, resolve_backend
from ragcook.errors import RagcookError
from ragcook.models import fingerprint, resolve
from ragcook.retrieve.topk import top_k
from ragcook.types import Run

#: Joins a query and a passage into one cache text (a character neither contains).
SEP = "\x1f"

Scorer = Callable[[list[tuple[str, str]]], np.ndarray]


def _identity():
    import torch

    return torch.nn.Identity()


class CrossEncoderScorer:
    """Scores (query, passage) pairs with a cross-encoder folder; scores are cached on disk.

    ``max_length`` (tokens of query + passage) defaults to the model's own. ``backend`` is the bi-encoders'
    (:mod:`ragcook.encode.backends`): by default the model exported to ONNX Runtime with int8 weights, the
    course's search default (notebook 13 times it against torch, and ranks with both); ``"torch"`` runs
    sentence-transformers' ``CrossEncoder.predict``. The cache key is the model's files, ``max_length``,
    the backend and the exact pair texts, so a rerun of a notebook reads the scores back instead of running
    the model again.
    """

    def __init__(
        self, model: str | os.PathLike, max_length: int | None = None, batch_size: int = 32, show_progress: bool | None = None,
        backend: str | None = None,
    ):  # fmt: skip
        self.model_path = str(model)
        self.max_length, self.batch_size = max_length, batch_size
        self.show_progress = progress.enabled(show_progress)
        self.backend = resolve_backend(backend)
        self._model = None

    @property
    def model(self):
        """sentence-transformers' ``CrossEncoder`` (backend torch), else the exported model's runner."""
        if self._model is None and self.backend == "torch":
            from sentence_transformers import CrossEncoder

            self._model = CrossEncoder(str(resolve(self.model_path)), max_length=self.max_length)
        elif self._model is None:
            self._model = ExportedEncoder(self.model_path, self.backend, max_seq_length=self.max_length)
        return self._model

    def predict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """The model's raw scores (logits: higher is more relevant), no cache: for timing."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        if self.backend != "torch":
            return self.model.encode(list(pairs), batch_size=self.batch_size, show_progress=self.show_progress).reshape(-1)
        scores = self.model.predict(
            pairs,
            batch_size=self.batch_size,
            activation_fn=_identity(),
            show_progress_bar=self.show_progress,
            convert_to_numpy=True,
        )
        return np.asarray(scores, dtype=np.float32).reshape(-1)

    def __call__(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """One score per pair, from the cache when it has them."""
        key = f"cross-encoder|{fingerprint(self.model_path)}|{self.max_length}{cache_tag(self.backend)}"
        texts = [f"{q}{SEP}{p}" for q, p in pairs]
        return cached(key, texts, lambda ts: self.predict([tuple(t.split(SEP, 1)) for t in ts]))


def pair_scores(run: Run, queries: dict[str, str], corpus: dict[str, str], scorer: Scorer, depth: int) -> Run:
    """The scorer's score of each query with each of its ``depth`` best documents in ``run``."""
    if depth < 1:
        raise RagcookError(f"rerank: depth must be at least 1, got {depth}")
    heads = top_k({q: run.get(q, {}) for q in queries}, depth)
    keys = [(q, d) for q, docs in heads.items() for d in docs]
    scores = scorer([(queries[q], corpus[d]) for q, d in keys]) if keys else []
    out: Run = {q: {} for q in heads}
    for (q, d), s in zip(keys, scores):
        out[q][d] = float(s)
    return out


def rerank_run(run: Run, scores: Run, depth: int, k: int) -> Run:
    """``run``'s top ``depth`` reordered by ``scores``, then its next documents in their old order.

    Ties in ``scores`` keep the first stage's order. Documents after the reranked head get scores
    below all of the head's, so any reader of the run sees the same order.
    """
    out: Run = {}
    for q, docs in run.items():
        ranked = list(top_k({q: docs}, max(k, depth))[q])
        head, tail = ranked[:depth], ranked[depth:]
        missing = [d for d in head if d not in scores.get(q, {})]
        if missing:
            raise RagcookError(f"rerank: no score for query {q!r} and document {missing[0]!r}")
        head = sorted(head, key=lambda d: -scores[q][d])  # stable: ties keep the first stage's order
        new = {d: scores[q][d] for d in head}
        floor = min(new.values(), default=0.0) - 1.0
        new.update({d: floor - i for i, d in enumerate(tail)})
        out[q] = dict(list(new.items())[:k])
    return out


class Rerank:
    """A first-stage retriever, then a cross-encoder over its top ``depth`` documents."""

    def __init__(self, first_stage, cross_encoder: str | os.PathLike | Scorer, depth: int = 20, name: str = "rerank"):
        if depth < 1:
            raise RagcookError(f"Rerank: depth must be at least 1, got {depth}")
        self.first_stage, self.depth, self.name = first_stage, depth, name
        self.scorer = cross_encoder if callable(cross_encoder) else CrossEncoderScorer(cross_encoder)
        self._corpus: dict[str, str] | None = None

    def index(self, corpus: dict[str, str]) -> Rerank:
        self.first_stage.index(corpus)
        self._corpus = corpus
        return self

    def search(self, queries: dict[str, str], k: int = 10) -> Run:
        if self._corpus is None:
            raise RagcookError("Rerank: call index(corpus) before search()")
        first = self.first_stage.search(queries, k=max(k, self.depth))
        return rerank_run(first, pair_scores(first, queries, self._corpus, self.scorer, self.depth), self.depth, k)
