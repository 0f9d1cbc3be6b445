"""Solutions to notebook 00's exercises (checked by tests/test_exercises.py)."""


def hit_rate(run, qrels, k):
    """Share of queries with at least one relevant document in their top k."""
    hits = 0
    for qid, relevant in qrels.items():
        top = sorted(run.get(qid, {}).items(), key=lambda x: -x[1])[:k]
        hits += any(relevant.get(doc, 0) > 0 for doc, _ in top)
    return hits / len(qrels)


def answer_lengths(corpus):
    """Words per document."""
    return {doc: len(text.split()) for doc, text in corpus.items()}
