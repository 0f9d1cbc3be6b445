"""BM25, the lexical baseline: documents ranked by the words they share with the query.

:class:`BM25` runs on ``bm25s`` (Lucene's scoring, precomputed sparse document weights). English
text goes through bm25s' stop words and the Snowball stemmer; Chinese, which has no spaces,
through jieba (:func:`ragcook.text.tokenize_zh`). The formula itself is written out by hand, to
read, in :mod:`ragcook.retrieve.bm25_by_hand`.
"""

from __future__ import annotations

from collections.abc import Callable

from ragcook.errors import RagcookError
from ragcook.text.words import tokenize_zh
from ragcook.types import Run

#: How each language is split into words (named in ``ragcook eval``'s output).
TOKENIZERS = {"en": "bm25s English (stop words + Snowball stemmer)", "zh": "jieba (Chinese words)"}


def bm25_tokens(texts: list[str], lang: str, stemmer=None, tokenizer=None) -> list[list[str]]:
    """The words BM25 indexes for each text (an empty text becomes the placeholder ``<empty>``)."""
    import bm25s

    if lang not in TOKENIZERS and tokenizer is None:
        raise RagcookError(f"BM25: no tokenizer for language {lang!r}; use one of {', '.join(TOKENIZERS)} or pass tokenizer=")
    if lang == "en" and stemmer is None and tokenizer is None:
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
    if tokenizer is not None:
        return [tokenizer(t) or ["<empty>"] for t in texts]
    if lang == "zh":
        # bm25s accepts pre-split texts as lists of strings.
        return [tokenize_zh(t) or ["<empty>"] for t in texts]
    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False, return_ids=False)


class BM25:
    """Okapi BM25 over bm25s (k1=1.5, b=0.75, Lucene's idf).

    English: bm25s' stop words and the Snowball stemmer. Chinese (``lang="zh"``): jieba words.
    Any other split: pass ``tokenizer``, a function from text to a list of tokens.
    """

    def __init__(self, lang: str = "en", k1: float = 1.5, b: float = 0.75, tokenizer: Callable[[str], list[str]] | None = None):
        self.name = "bm25" if lang == "en" else f"bm25-{lang}"
        self.lang, self.k1, self.b, self.tokenizer = lang, k1, b, tokenizer
        self._ids: list[str] = []
        self._model = None
        self._stemmer = None

    def index(self, corpus: dict[str, str]) -> BM25:
        import bm25s

        if self.lang == "en" and self.tokenizer is None:
            import Stemmer

            self._stemmer = Stemmer.Stemmer("english")
        self._ids = list(corpus)
        tokens = bm25_tokens(list(corpus.values()), self.lang, self._stemmer, self.tokenizer)
        if not any(t and t != ["<empty>"] for t in tokens):
            raise RagcookError(f"BM25: none of the {len(tokens)} documents has a word left once stop words are removed")
        self._model = bm25s.BM25(k1=self.k1, b=self.b)
        self._model.index(tokens, show_progress=False)
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
        toks = bm25_tokens([queries[q] for q in qids], self.lang, self._stemmer, self.tokenizer)
        toks = [t if t else ["<empty>"] for t in toks]
        docs, scores = self._model.retrieve(toks, k=k, show_progress=False, n_threads=1)
        return {q: {self._ids[int(d)]: float(s) for d, s in zip(docs[i], scores[i]) if s > 0} for i, q in enumerate(qids)}
