"""Retrievers by name, for the command line and the pipeline: ``make("bm25", model, lang)``.

Each factory takes ``(model, lang, **kwargs)`` and returns an un-indexed retriever with the
``index(corpus)`` / ``search(queries, k) -> Run`` interface. A new retriever is one function
here and one entry in :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable

from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL
from ragcook.retrieve.bm25 import BM25
from ragcook.retrieve.dense import Dense
from ragcook.retrieve.fusion import Hybrid
from ragcook.retrieve.sparse import DenseSparse, SparseRetriever

#: The ``hybrid`` retriever's fusion when nothing is tuned (``ragcook eval --hybrid-norm/--hybrid-weight``):
#: z-scores with 0.7 on dense fell least below the better single retriever across the course's five
#: corpora (notebook 17, section 5, :mod:`ragcook.eval.fusion`), which asserts that this is still so.
HYBRID_NORM = "zscore"
HYBRID_WEIGHT = 0.7


def _bm25(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> BM25:
    return BM25(lang=lang)


def _dense(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> Dense:
    return Dense(model=model, **kw)


def _hybrid(model: str = DEFAULT_MODEL, lang: str = "en", weight: float = HYBRID_WEIGHT, norm: str = HYBRID_NORM, **kw) -> Hybrid:
    """BM25 + dense, each normalised by ``norm``, ``weight`` on dense."""
    return Hybrid([BM25(lang=lang), Dense(model=model, **kw)], norm=norm, weights=[1 - weight, weight])


def _check_lang(lang: str, what: str, model: str | None = None) -> None:
    """Refuse a non-English language unless ``model``'s tokenizer covers it (no unknown tokens on a sample)."""
    if lang != "en" and not (model is not None and covers(model, lang)):
        raise RagcookError(
            f"{what} is English-only here (its vocabulary and training data); use bm25 or dense for {lang!r}, "
            "or a multilingual --model such as e5-small"
        )


#: A sentence per language that an English-only vocabulary (MiniLM's) cannot spell without unknown tokens.
_SAMPLES = {"zh": "长期服用阿司匹林会伤胃吗？保险理赔需要哪些材料？"}


def covers(model: str, lang: str) -> bool:
    """Whether ``model``'s tokenizer spells a sample of ``lang`` with no unknown token: a multilingual model."""
    from ragcook.models import load_tokenizer

    tok = load_tokenizer(model)
    sample = _SAMPLES.get(lang)
    return sample is not None and tok.unk_token_id not in tok(sample, add_special_tokens=False)["input_ids"]


def _splade(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> SparseRetriever:
    """SPLADE-tiny (always; ``model`` is the dense model and is not used)."""
    from ragcook.encode.sparse import SpladeEncoder

    _check_lang(lang, "splade (SPLADE-tiny)")
    return SparseRetriever(SpladeEncoder("splade-tiny", **kw), name="splade")


def _sparse_head(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> SparseRetriever:
    """The BGE-M3-style sparse head on ``model`` (trained and cached on first use)."""
    from ragcook.encode.sparse import M3Encoder

    _check_lang(lang, "sparse-head", model)
    config = kw.pop("config", None) or _head_config(lang)
    return SparseRetriever(M3Encoder(model, config=config), name="sparse-head", **kw)


def _dense_sparse(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> DenseSparse:
    """Dense + sparse head of ``model`` from one forward pass, fused as Milvus's WeightedRanker(0.7, 0.3)."""
    from ragcook.encode.sparse import M3Encoder

    _check_lang(lang, "dense+sparse", model)
    config = kw.pop("config", None) or _head_config(lang)
    return DenseSparse(M3Encoder(model, config=config), **kw)


def _head_config(lang: str):
    """The sparse head's default training, on InsuranceQA train in ``lang`` (machine-translated for zh)."""
    from ragcook.encode.sparse_head import HeadConfig

    return HeadConfig(lang=lang)


#: Retriever names the CLI accepts -> factory.
REGISTRY: dict[str, Callable] = {
    "bm25": _bm25,
    "dense": _dense,
    "hybrid": _hybrid,
    "splade": _splade,
    "sparse-head": _sparse_head,
    "dense+sparse": _dense_sparse,
}


def make(name: str, model: str = DEFAULT_MODEL, lang: str = "en", **kwargs):
    """Build a registered retriever by name."""
    if name not in REGISTRY:
        raise RagcookError(f"unknown retriever {name!r}; choose from {', '.join(REGISTRY)}")
    return REGISTRY[name](model=model, lang=lang, **kwargs)
