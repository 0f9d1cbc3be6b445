"""The one dataset shape: ``corpus`` (doc id -> text), ``queries`` and ``qrels``.

Every loader (:mod:`~ragcook.data.insuranceqa`, :mod:`~ragcook.data.beir`) returns a
:class:`Dataset`, and every retriever and metric reads one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from ragcook.errors import DataError
from ragcook.types import Qrels

SEED = 13

#: Data files committed with the course (in a checkout: the ``data/`` folder beside the package).
DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@dataclass
class Dataset:
    """A retrieval split: documents, queries and graded relevance judgements."""

    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: Qrels
    name: str = "dataset"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(self)

    def __repr__(self) -> str:
        n_rel = sum(len(v) for v in self.qrels.values())
        return f"Dataset({self.name!r}: {len(self.corpus):,} documents, {len(self.queries):,} queries, {n_rel:,} relevant pairs)"

    def positives(self, qid: str) -> list[str]:
        """Texts of the documents judged relevant (grade > 0) for a query."""
        return [self.corpus[d] for d, g in self.qrels.get(qid, {}).items() if g > 0]

    def take(self, n: int, seed: int = SEED) -> Dataset:
        """A deterministic sample of ``n`` queries over the same corpus."""
        qids = sorted(self.queries)
        if n < len(qids):
            qids = sorted(random.Random(seed).sample(qids, n))
        return Dataset(
            corpus=self.corpus,
            queries={q: self.queries[q] for q in qids},
            qrels={q: self.qrels[q] for q in qids if q in self.qrels},
            name=f"{self.name}[{len(qids)}]",
            meta=dict(self.meta),
        )


def validate(ds: Dataset, source: str | None = None) -> None:
    """Raise :class:`DataError` if the dataset cannot be evaluated meaningfully."""
    where = source or ds.name
    if not ds.corpus:
        raise DataError(f"{where}: the corpus is empty")
    if not ds.queries:
        raise DataError(f"{where}: there are no queries")
    for qid, docs in ds.qrels.items():
        if qid not in ds.queries:
            raise DataError(f"{where}: qrels name query id {qid!r}, which is not among the queries")
        for did in docs:
            if did not in ds.corpus:
                raise DataError(f"{where}: qrels for query {qid!r} name document id {did!r}, which is not in the corpus")


def lang_of(ds: Dataset) -> str:
    """The dataset's language: its metadata's ``lang`` ('en' unless it says otherwise)."""
    return ds.meta.get("lang", "en")


def detect_lang(texts, sample: int = 200) -> str:
    """``zh`` when most characters of the first ``sample`` texts are CJK ideographs, else ``en``.

    Good enough to pick a BM25 tokenizer (jieba or English words); pass ``lang`` to override.
    """
    letters = cjk = 0
    for i, t in enumerate(texts):
        if i == sample:
            break
        for ch in t:
            if ch.isalpha():
                letters += 1
                cjk += "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"
    return "zh" if letters and cjk / letters > 0.3 else "en"
