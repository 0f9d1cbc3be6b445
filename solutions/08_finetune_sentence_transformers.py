"""Solutions to notebook 08's exercises (checked by tests/test_exercises.py)."""


def triplet_rows(queries, corpus, qrels, ranking):
    """(query, positive, hard negative) texts: one row per relevant document, the negative being the
    highest-ranked document that is not relevant."""
    rows = []
    for qid, text in queries.items():
        relevant = [d for d, grade in qrels.get(qid, {}).items() if grade > 0]
        negative = next((d for d in ranking.get(qid, []) if qrels.get(qid, {}).get(d, 0) <= 0), None)
        if negative is None:
            continue
        rows += [(text, corpus[d], corpus[negative]) for d in relevant]
    return rows


def false_negatives(rows):
    """(i, j), i != j, where rows[j]'s positive is the same text as rows[i]'s: MNRL would call it a negative."""
    return [(i, j) for i, (_, p) in enumerate(rows) for j, (_, other) in enumerate(rows) if i != j and p == other]
