"""Why vector search misses: matching a question against answers, questions, or whole FAQ pages.

Notebook 05's experiment. ``Q-A``: the user's question against stored answers (what a plain RAG
index does). ``Q-Q``: against stored *questions*, each leading to its answer (an FAQ bank).
``Q-D``: against documents that hold both, each answer with its questions prepended.
"""

from __future__ import annotations

from ragcook.data import Dataset
from ragcook.models import DEFAULT_MODEL
from ragcook.retrieve import Dense, rrf
from ragcook.retrieve.topk import search


def follow_questions(run: dict, bank_qrels: dict[str, dict[str, int]], keep: set[str] | None = None) -> dict:
    """Q-Q retrieval: a run over stored questions becomes a run over their answers.

    Each answer scores the best score of the stored questions that lead to it; answers outside
    ``keep`` (e.g. the evaluated corpus) are dropped.
    """
    out: dict[str, dict[str, float]] = {}
    for qid, hits in run.items():
        docs: dict[str, float] = {}
        for bank_qid, score in hits.items():
            for did, grade in bank_qrels.get(bank_qid, {}).items():
                if grade > 0 and (keep is None or did in keep) and score > docs.get(did, float("-inf")):
                    docs[did] = score
        out[qid] = docs
    return out


def faq_documents(corpus: dict[str, str], bank: Dataset) -> dict[str, str]:
    """Q-D documents: each answer preceded by the stored questions it answers (FAQ pages)."""
    asked: dict[str, list[str]] = {}
    for qid, docs in bank.qrels.items():
        for did, grade in docs.items():
            if grade > 0 and did in corpus:
                asked.setdefault(did, []).append(bank.queries[qid])
    return {did: "\n".join(asked.get(did, []) + [text]) for did, text in corpus.items()}


def covered_queries(ds: Dataset, bank: Dataset) -> set[str]:
    """Query ids of ``ds`` with at least one relevant answer that some stored question of ``bank`` leads to."""
    reachable = {d for docs in bank.qrels.values() for d, g in docs.items() if g > 0}
    return {q for q, docs in ds.qrels.items() if any(g > 0 and d in reachable for d, g in docs.items())}


def coverage(ds: Dataset, bank: Dataset) -> float:
    """Share of ``ds``'s judged queries that Q-Q retrieval through ``bank`` can answer at all."""
    judged = [q for q in ds.queries if ds.qrels.get(q)]
    return len(covered_queries(ds, bank) & set(judged)) / max(1, len(judged))


def mismatch_runs(ds: Dataset, bank: Dataset, model: str | None = None, k: int = 100, dense=None) -> dict[str, dict]:
    """Runs of the three pairings on ``ds`` with ``bank`` as the stored questions (e.g. InsuranceQA train).

    ``Q-A``: query -> answers. ``Q-Q``: query -> stored questions -> their answers.
    ``Q-D``: query -> answers with their stored questions prepended. ``Q-Q + Q-A``: RRF of the two.
    Only the documents that change are encoded again for Q-D.
    """
    enc = dense or Dense(model=model or DEFAULT_MODEL)
    qa = enc.index(ds.corpus).search(ds.queries, k)
    bank_run = enc.sharing_model()  # the same loaded model, an index of its own
    qq = follow_questions(bank_run.index(bank.queries).search(ds.queries, k), bank.qrels, keep=set(ds.corpus))
    docs = faq_documents(ds.corpus, bank)
    changed = [d for d in ds.corpus if docs[d] != ds.corpus[d]]
    ids = list(ds.corpus)
    vecs = enc.encode(list(ds.corpus.values()))
    if changed:
        new = enc.encode([docs[d] for d in changed])
        pos = {d: i for i, d in enumerate(ids)}
        vecs = vecs.copy()
        vecs[[pos[d] for d in changed]] = new
    qv = enc.encode(list(ds.queries.values()), prompt=enc.query_prompt)
    qd = search(qv, vecs, list(ds.queries), ids, k)
    return {"Q-A": qa, "Q-Q": qq, "Q-D (FAQ page)": qd, "Q-Q + Q-A (RRF)": rrf([qq, qa])}
