"""BM25 written out by hand, to teach the formula; :class:`ragcook.retrieve.BM25` is what runs.

Lucene's variant, as bm25s computes it by default::

    score(q, d) = sum over query terms t of  idf(t) * tf(t, d) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

``tf`` rewards repeats with diminishing returns (k1), ``|d| / avgdl`` penalises long documents (b),
and ``idf`` makes rare words count more than common ones.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np


def idf(term: str, docs: list[list[str]]) -> float:
    n = len(docs)
    df = sum(term in d for d in docs)
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def term_weight(term: str, doc: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> float:
    """The contribution of one term to one document's score (0 if the term is absent)."""
    tf = Counter(doc)[term]
    if tf == 0:
        return 0.0
    avgdl = sum(len(d) for d in docs) / len(docs)
    return idf(term, docs) * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))


def bm25_scores(query: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> np.ndarray:
    """BM25 score of every tokenised document for a tokenised query (repeated query terms count once each)."""
    return np.array([sum(term_weight(t, d, docs, k1, b) for t in query) for d in docs])


def document_vector(doc_index: int, docs: list[list[str]], k1: float = 1.5, b: float = 0.75) -> dict[str, float]:
    """A document as BM25 sees it: a sparse vector over the vocabulary, one weight per term it contains.

    A query's score is then a dot product with the query's 0/1 term vector.
    """
    doc = docs[doc_index]
    return {t: term_weight(t, doc, docs, k1, b) for t in sorted(set(doc))}


def word_overlap(query: str, doc: str) -> float:
    """Share of the query's content words (English stop words dropped, stemmed) that the document contains."""
    import bm25s
    import Stemmer

    stem = Stemmer.Stemmer("english")
    q, d = bm25s.tokenize([query, doc], stopwords="en", stemmer=stem, return_ids=False, show_progress=False)
    return len(set(q) & set(d)) / len(set(q)) if q else 0.0
