"""Retrievers with one small interface: ``index(corpus)`` then ``search(queries, k) -> Run``.

A ``Run`` is what TREC tools call a run: query id -> {document id: score}, higher is better.

- :class:`BM25` ranks by word overlap (bm25s; English stop words and stemming, Chinese via jieba).
- :class:`Dense` ranks by cosine similarity of bi-encoder vectors in a FAISS inner-product index.
- :class:`Hybrid` fuses the runs of several retrievers (reciprocal rank fusion or weighted scores).
"""

from __future__ import annotations

import importlib
import os
import re
from typing import Callable, Protocol

import numpy as np

from ragcook.cache import cached_embeddings
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, fingerprint, load_sentence_transformer

Run = dict[str, dict[str, float]]


class Retriever(Protocol):
    name: str

    def index(self, corpus: dict[str, str]) -> "Retriever": ...

    def search(self, queries: dict[str, str], k: int = 100) -> Run: ...


# --------------------------------------------------------------------------- tokenization

def tokenize_zh(text: str) -> list[str]:
    """Chinese words via jieba, dropping punctuation and whitespace."""
    import jieba

    jieba.setLogLevel(60)  # silence "Building prefix dict" on every first use
    return [w for w in jieba.lcut(text) if w.strip() and re.search(r"\w", w)]


def _bm25_tokens(texts: list[str], lang: str, stemmer, tokenizer=None):
    import bm25s

    if tokenizer is not None:
        return [tokenizer(t) or ["<empty>"] for t in texts]
    if lang == "zh":
        # bm25s accepts pre-split texts as lists of strings.
        return [tokenize_zh(t) or ["<empty>"] for t in texts]
    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False)


# --------------------------------------------------------------------------- BM25


class BM25:
    """Okapi BM25 over bm25s (k1=1.5, b=0.75, Lucene's idf).

    English: bm25s' stop words and the Snowball stemmer. Chinese (``lang="zh"``): jieba words.
    Any other split: pass ``tokenizer``, a function from text to a list of tokens.
    """

    def __init__(
        self, lang: str = "en", k1: float = 1.5, b: float = 0.75, tokenizer: Callable[[str], list[str]] | None = None
    ):
        self.name = "bm25" if lang == "en" else f"bm25-{lang}"
        self.lang, self.k1, self.b, self.tokenizer = lang, k1, b, tokenizer
        self._ids: list[str] = []
        self._model = None
        self._stemmer = None

    def index(self, corpus: dict[str, str]) -> "BM25":
        import bm25s

        if self.lang == "en" and self.tokenizer is None:
            import Stemmer

            self._stemmer = Stemmer.Stemmer("english")
        self._ids = list(corpus)
        self._model = bm25s.BM25(k1=self.k1, b=self.b)
        self._model.index(_bm25_tokens(list(corpus.values()), self.lang, self._stemmer, self.tokenizer), show_progress=False)
        return self

    @property
    def vocab_size(self) -> int:
        return len(self._model.vocab_dict) if self._model is not None else 0

    def document_vector(self, doc_id: str) -> dict[str, float]:
        """The BM25 weights bm25s precomputed for one document: a sparse vector over the vocabulary."""
        import scipy.sparse as sp

        if self._model is None:
            raise RagcookError("BM25: call index(corpus) before document_vector()")
        s = self._model.scores
        m = sp.csc_matrix((s["data"], s["indices"], s["indptr"]), shape=(s["num_docs"], len(s["indptr"]) - 1))
        row = m.getrow(self._ids.index(doc_id))
        names = {i: t for t, i in self._model.vocab_dict.items()}
        return dict(sorted(((names[j], float(v)) for j, v in zip(row.indices, row.data)), key=lambda x: -x[1]))

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        if self._model is None:
            raise RagcookError("BM25: call index(corpus) before search()")
        k = min(k, len(self._ids))
        qids = list(queries)
        toks = _bm25_tokens([queries[q] for q in qids], self.lang, self._stemmer, self.tokenizer)
        toks = [t if t else ["<empty>"] for t in toks]
        docs, scores = self._model.retrieve(toks, k=k, show_progress=False, n_threads=1)
        return {
            q: {self._ids[int(d)]: float(s) for d, s in zip(docs[i], scores[i]) if s > 0}
            for i, q in enumerate(qids)
        }


# --------------------------------------------------------------------------- dense


class Dense:
    """A bi-encoder and a FAISS inner-product index over L2-normalised vectors (= cosine).

    Corpus vectors are cached on disk, keyed by the model's files and the texts, so every
    notebook after the first one reuses them. ``query_prompt`` is prepended to queries only
    (BGE-style instructions such as "Represent this sentence for searching relevant passages: ").
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        batch_size: int = 64,
        query_prompt: str = "",
        max_seq_length: int | None = None,
        show_progress: bool | None = None,
        name: str = "dense",
    ):
        self.name = name
        self.model_path = model
        self.batch_size = batch_size
        self.query_prompt = query_prompt
        self.max_seq_length = max_seq_length
        # Progress bars unless TQDM_DISABLE is set (as when notebooks are executed for saving).
        self.show_progress = show_progress if show_progress is not None else not os.environ.get("TQDM_DISABLE")
        self._model = None
        self._index = None
        self._ids: list[str] = []

    @property
    def model(self):
        if self._model is None:
            self._model = load_sentence_transformer(self.model_path)
            if self.max_seq_length:
                self._model.max_seq_length = self.max_seq_length
        return self._model

    def encode(self, texts: list[str], prompt: str = "", desc: str = "encode") -> np.ndarray:
        """Normalised float32 vectors, one row per text, from the cache when it has them."""
        key = f"{fingerprint(self.model_path)}|{self.max_seq_length}|{prompt}"

        def compute(batch: list[str]) -> np.ndarray:
            return self.model.encode(
                [prompt + t for t in batch],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=self.show_progress and len(batch) > self.batch_size,
            ).astype(np.float32)

        return cached_embeddings(key, texts, compute)

    def index(self, corpus: dict[str, str]) -> "Dense":
        import faiss

        self._ids = list(corpus)
        vecs = self.encode(list(corpus.values()), desc="corpus")
        self._index = faiss.IndexFlatIP(vecs.shape[1])
        self._index.add(vecs)
        return self

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        if self._index is None:
            raise RagcookError("Dense: call index(corpus) before search()")
        qids = list(queries)
        qv = self.encode([queries[q] for q in qids], prompt=self.query_prompt, desc="queries")
        scores, idx = self._index.search(qv, min(k, len(self._ids)))
        return {
            q: {self._ids[int(j)]: float(s) for j, s in zip(idx[i], scores[i]) if j >= 0}
            for i, q in enumerate(qids)
        }


# --------------------------------------------------------------------------- fusion


def rrf(runs: list[Run], k: int = 60, depth: int = 100) -> Run:
    """Reciprocal rank fusion (Cormack et al., 2009): score(d) = sum over runs of 1 / (k + rank)."""
    fused: Run = {}
    for run in runs:
        for qid, docs in run.items():
            ranked = sorted(docs.items(), key=lambda x: -x[1])[:depth]
            out = fused.setdefault(qid, {})
            for rank, (did, _) in enumerate(ranked, 1):
                out[did] = out.get(did, 0.0) + 1.0 / (k + rank)
    return fused


def _minmax(docs: dict[str, float]) -> dict[str, float]:
    if not docs:
        return {}
    lo, hi = min(docs.values()), max(docs.values())
    span = hi - lo
    return {d: ((s - lo) / span if span > 0 else 1.0) for d, s in docs.items()}


def weighted_fusion(runs: list[Run], weights: list[float] | None = None) -> Run:
    """Min-max normalise each run's scores per query, then add them with weights.

    A document missing from a run gets that run's minimum (0 after normalisation).
    """
    weights = weights or [1.0] * len(runs)
    if len(weights) != len(runs):
        raise RagcookError(f"weighted_fusion: {len(runs)} runs but {len(weights)} weights")
    fused: Run = {}
    for run, w in zip(runs, weights):
        for qid, docs in run.items():
            out = fused.setdefault(qid, {})
            for did, s in _minmax(docs).items():
                out[did] = out.get(did, 0.0) + w * s
    return fused


class Hybrid:
    """Fuse several retrievers: ``method="rrf"`` (rank-based) or ``"weighted"`` (min-max scores)."""

    def __init__(
        self,
        retrievers: list[Retriever],
        method: str = "rrf",
        weights: list[float] | None = None,
        rrf_k: int = 60,
        depth: int = 100,
        name: str = "hybrid",
    ):
        if method not in ("rrf", "weighted"):
            raise RagcookError(f"Hybrid: unknown fusion method {method!r}; use 'rrf' or 'weighted'")
        self.name, self.retrievers, self.method = name, retrievers, method
        self.weights, self.rrf_k, self.depth = weights, rrf_k, depth

    def index(self, corpus: dict[str, str]) -> "Hybrid":
        for r in self.retrievers:
            r.index(corpus)
        return self

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        runs = [r.search(queries, k=max(k, self.depth)) for r in self.retrievers]
        fused = rrf(runs, self.rrf_k, self.depth) if self.method == "rrf" else weighted_fusion(runs, self.weights)
        return top_k(fused, k)


def top_k(run: Run, k: int) -> Run:
    """Keep the ``k`` best documents per query."""
    return {q: dict(sorted(d.items(), key=lambda x: -x[1])[:k]) for q, d in run.items()}


# --------------------------------------------------------------------------- registry

#: Retriever names the CLI accepts -> "module:factory". Each factory takes
#: ``(model: str, lang: str, **kwargs)`` and returns an un-indexed retriever.
REGISTRY: dict[str, str] = {
    "bm25": "ragcook.retrieve:_make_bm25",
    "dense": "ragcook.retrieve:_make_dense",
    "hybrid": "ragcook.retrieve:_make_hybrid",
    "splade": "ragcook.sparse:make_splade",
    "sparse-head": "ragcook.sparse:make_sparse_head",
    "dense+sparse": "ragcook.sparse:make_dense_sparse",
}


def _make_bm25(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> BM25:
    return BM25(lang=lang)


def _make_dense(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> Dense:
    return Dense(model=model, **kw)


def _make_hybrid(model: str = DEFAULT_MODEL, lang: str = "en", weight: float = 0.5, **kw) -> Hybrid:
    """BM25 + dense, min-max score fusion with ``weight`` on dense."""
    return Hybrid([BM25(lang=lang), Dense(model=model, **kw)], method="weighted", weights=[1 - weight, weight])


def available() -> list[str]:
    """Registered retriever names whose module can be imported here."""
    names = []
    for name, target in REGISTRY.items():
        mod, _, fn = target.partition(":")
        try:
            if hasattr(importlib.import_module(mod), fn):
                names.append(name)
        except ImportError:
            pass
    return names


def make(name: str, model: str = DEFAULT_MODEL, lang: str = "en", **kwargs) -> Retriever:
    """Build a registered retriever by name."""
    if name not in REGISTRY:
        raise RagcookError(f"unknown retriever {name!r}; choose from {', '.join(REGISTRY)}")
    mod, _, fn = REGISTRY[name].partition(":")
    try:
        factory: Callable[..., Retriever] = getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise RagcookError(f"retriever {name!r} is not available in this install ({e})") from e
    return factory(model=model, lang=lang, **kwargs)
