"""Notebook 12's test of late chunking: queries that name a module, chunks that say "this module".

Rule: the query of a document is its subject (the module name). Its relevant chunks are the
chunks of that document that do not contain the subject as a word: they are about it but say
"this module", "it", "the function". Chunks that do name it would be found by any method, so
they are left out of that query's ranking. The algorithm is :mod:`ragcook.encode.late_chunking`;
the documents are :mod:`ragcook.data.pydoc`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ragcook.encode.late_chunking import LateChunker, Span, token_span, whole
from ragcook.errors import RagcookError
from ragcook.eval.metrics import compare
from ragcook.retrieve.topk import scores_to_run
from ragcook.text.chunk import sentences
from ragcook.types import Run


def chunk_similarities(chunker: LateChunker, text: str, spans: list[Span], query: str, width: int = 70):
    """Cosine similarity of ``query`` to every chunk, embedded naively and late: a pandas frame
    with the chunk's opening words, to see which chunks context moves."""
    import pandas as pd

    q = chunker.encode([query])[0]
    naive = chunker.naive_chunks([text], [spans])[0] @ q
    late = chunker.late_chunks([text], [spans])[0] @ q
    rows = [
        {"chunk": text[s:e][:width] + ("…" if e - s > width else ""), "names it": names(query, text[s:e]),
         "naive": float(n), "late": float(lt)}
        for (s, e), n, lt in zip(spans, naive, late)
    ]  # fmt: skip
    return pd.DataFrame(rows)


@dataclass
class ContextEval:
    """Chunks of documents, and queries that name each document's subject.

    Rule: the query of a document is its subject (the module name). Its relevant chunks are the
    chunks of that document that do not contain the subject as a word: they are about it but
    say "this module", "it", "the function". Chunks that do name it would be found by any method,
    so they are left out of that query's ranking (``ignore``), neither relevant nor wrong.
    """

    texts: dict[str, str]  # doc id -> text
    spans: dict[str, list[Span]]  # doc id -> chunk spans
    corpus: dict[str, str]  # chunk id -> chunk text
    queries: dict[str, str]  # query id -> subject
    qrels: dict[str, dict[str, int]]  # query id -> {relevant chunk id: 1}
    ignore: dict[str, set[str]]  # query id -> chunks that name the subject

    def chunk_ids(self, doc: str) -> list[str]:
        return [f"{doc}#{k:03d}" for k in range(len(self.spans[doc]))]


def names(subject: str, text: str) -> bool:
    """Whether ``text`` contains ``subject`` as a whole word, case-insensitive."""
    return re.search(rf"(?<![\w]){re.escape(subject)}(?![\w])", text, re.IGNORECASE) is not None


def chunk_spans(text: str, max_chars: int = 300) -> list[Span]:
    """Sentences grouped greedily into chunks of at most ``max_chars``, never across a paragraph."""
    return [(c.start, c.end) for c in sentences(text, max_chars=max_chars, overlap=0, keep_paragraphs=True)]


def context_eval(docs: list[dict], max_chars: int = 300) -> ContextEval:
    """Chunk every document (:func:`chunk_spans`) and build queries, qrels and ignores by the rule
    of :class:`ContextEval`. Documents with no relevant chunk get no query."""
    texts = {d["id"]: d["text"] for d in docs}
    spans = {d: chunk_spans(t, max_chars) for d, t in texts.items()}
    subjects = {d["id"]: d["subject"] for d in docs}
    return judged_chunks(texts, spans, subjects, lambda did, chunk: names(subjects[did], chunk))


def judged_chunks(
    texts: dict[str, str], spans: dict[str, list[Span]], queries: dict[str, str], names_subject: Callable[[str, str], bool]
) -> ContextEval:
    """The rule of :class:`ContextEval` on chunks already cut: ``queries[doc]`` asks for document ``doc``;
    its chunks that ``names_subject(doc, chunk)`` are ignored, the others are relevant."""
    corpus, qs, qrels, ignore = {}, {}, {}, {}
    for did, text in texts.items():
        rel, ign = {}, set()
        for k, (s, e) in enumerate(spans[did]):
            cid = f"{did}#{k:03d}"
            corpus[cid] = text[s:e]
            if names_subject(did, corpus[cid]):
                ign.add(cid)
            else:
                rel[cid] = 1
        if rel:
            qid = f"q-{did}"
            qs[qid], qrels[qid], ignore[qid] = queries[did], rel, ign
    return ContextEval(texts, spans, corpus, qs, qrels, ignore)


def embed_chunks(chunker: LateChunker, data: ContextEval, methods=("naive", "late", "whole-doc")) -> dict[str, np.ndarray]:
    """method -> ``(n_chunks, dim)`` vectors in ``data.corpus`` order.

    ``whole-doc`` gives every chunk its document's vector (the mean of all its token vectors).
    """
    docs = list(data.texts)
    texts, spans = [data.texts[d] for d in docs], [data.spans[d] for d in docs]
    unknown = set(methods) - {"naive", "late", "whole-doc"}
    if unknown:
        raise RagcookError(f"unknown method(s) {sorted(unknown)}; use naive, late or whole-doc")
    out = {}
    if "naive" in methods:
        out["naive"] = np.concatenate(chunker.naive_chunks(texts, spans))
    if "late" in methods or "whole-doc" in methods:
        tvs = chunker.token_vectors(texts)  # one encoder pass serves both
        if "late" in methods:
            out["late"] = np.concatenate([chunker.pool_spans(tv, sp) for tv, sp in zip(tvs, spans)])
        if "whole-doc" in methods:
            out["whole-doc"] = np.concatenate([np.repeat(whole(tv)[None], len(sp), axis=0) for tv, sp in zip(tvs, spans)])
    return {m: out[m] for m in methods}


def rank_chunks(data: ContextEval, query_vecs: np.ndarray, chunk_vecs: np.ndarray, k: int = 100) -> Run:
    """A ``Run`` over chunk ids by cosine similarity, each query's ``ignore`` chunks left out."""
    ids = list(data.corpus)
    scores = query_vecs @ chunk_vecs.T
    for qi, q in enumerate(data.queries):
        scores[qi, [j for j, c in enumerate(ids) if c in data.ignore[q]]] = -np.inf
    return scores_to_run(scores, list(data.queries), ids, k)


def chunk_ranks(data: ContextEval, query_vecs: np.ndarray, chunk_vecs: np.ndarray, k: int = 10):
    """One row per relevant chunk: its query, its rank (1 = best) among all chunks for that query
    (ignored chunks left out) and ``top``, the chance that it is in the top ``k``. Tied chunks
    (whole-document vectors tie within a document) share the mean of their ranks, and ``top`` is
    then the chance under a random order of the tie. A pandas frame."""
    import pandas as pd

    ids = list(data.corpus)
    pos = {c: j for j, c in enumerate(ids)}
    scores = query_vecs @ chunk_vecs.T
    rows = []
    for qi, q in enumerate(data.queries):
        ign = np.array([c in data.ignore[q] for c in ids])
        s = np.where(ign, -np.inf, scores[qi])
        for c in data.qrels[q]:
            x = s[pos[c]]
            above, tied = int((s > x).sum()), int((s == x).sum())
            rows.append({"query": q, "chunk": c, "rank": above + (tied + 1) / 2, "top": min(max((k - above) / tied, 0.0), 1.0)})
    return pd.DataFrame(rows)


def by_distance(
    data: ContextEval,
    query_vecs: np.ndarray,
    vectors: dict[str, np.ndarray],
    distances: dict[str, int],
    bins=(0, 32, 64, 128, 256, 510, 10_000),
    k: int = 10,
    label: str = "tokens to the nearest mention",
):
    """Share of relevant chunks ranked in the top ``k`` of their query, by token distance to their
    subject (``distances``, e.g. from :func:`mention_distances`). Rows: distance bins, with the
    number of chunks; columns: methods."""
    import pandas as pd

    frames = []
    for m, v in vectors.items():
        r = chunk_ranks(data, query_vecs, v, k)
        r["method"] = m
        frames.append(r)
    fr = pd.concat(frames)
    fr[label] = pd.cut(fr.chunk.map(distances), list(bins), right=False)
    out = fr.pivot_table(index=label, columns="method", values="top", aggfunc="mean", observed=True)
    out.insert(0, "chunks", fr[fr.method == next(iter(vectors))].groupby(label, observed=True).size())
    return out[["chunks", *vectors]]


def mention_distances(chunker: LateChunker, data: ContextEval) -> dict[str, int]:
    """relevant chunk id -> tokens between the chunk and the nearest mention of its subject on its
    page (the title or any later sentence that names it), before or after the chunk."""
    tok = chunker.tokenizer
    subject = {q[2:]: text for q, text in data.queries.items()}  # query ids are "q-" + doc id
    out = {}
    for d, text in data.texts.items():
        if d not in subject:
            continue
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = np.asarray(enc["offset_mapping"])
        pattern = rf"(?<![\w]){re.escape(subject[d])}(?![\w])"
        mentions = [token_span(offsets, m.span()) for m in re.finditer(pattern, text, re.IGNORECASE)]
        for cid, sp in zip(data.chunk_ids(d), data.spans[d]):
            if cid in data.qrels[f"q-{d}"]:
                i, j = token_span(offsets, sp)
                out[cid] = min(max(i - b + 1, a - j + 1, 0) for a, b in mentions)
    return out


def compare_methods(
    chunker: LateChunker,
    data: ContextEval,
    methods=("naive", "late", "whole-doc"),
    metrics=("ndcg@10", "recall@10", "mrr@10"),
):
    """Embed, rank and score each method on the same queries: ``(table, runs, vectors, query_vecs)``."""
    vecs = embed_chunks(chunker, data, methods)
    qv = chunker.encode(list(data.queries.values()))
    runs = {m: rank_chunks(data, qv, v) for m, v in vecs.items()}
    return compare(data.qrels, runs, metrics), runs, vecs, qv
