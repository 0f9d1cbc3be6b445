"""Solutions to notebook 10's exercises (checked by tests/test_exercises.py)."""


def hit_rate_and_mrr(retrieved, relevant_docs, k):
    """Share of queries with a relevant id in their top k, and the mean of 1 / rank of the first one (0 if none)."""
    hits, rr = 0, 0.0
    for qid, relevant in relevant_docs.items():
        top = retrieved.get(qid, [])[:k]
        rank = next((i + 1 for i, d in enumerate(top) if d in relevant), None)
        if rank:
            hits, rr = hits + 1, rr + 1 / rank
    return hits / len(relevant_docs), rr / len(relevant_docs)


def to_qa_dataset(queries, corpus, qrels):
    """LlamaIndex's EmbeddingQAFinetuneDataset fields: only queries with a relevant document in the corpus."""
    relevant = {q: [d for d, g in qrels.get(q, {}).items() if g > 0 and d in corpus] for q in queries}
    relevant = {q: docs for q, docs in relevant.items() if docs}
    return {"queries": {q: queries[q] for q in relevant}, "corpus": dict(corpus), "relevant_docs": relevant}
