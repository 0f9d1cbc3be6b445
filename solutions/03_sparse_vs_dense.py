"""Solutions to notebook 03's exercises (checked by tests/test_exercises.py)."""

import math


def bm25_term_weight(term, doc, docs, k1=1.5, b=0.75):
    """One term's BM25 contribution to one tokenised document (Lucene's variant, as bm25s computes it)."""
    tf = doc.count(term)
    if tf == 0:
        return 0.0
    n, df = len(docs), sum(term in d for d in docs)
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    avgdl = sum(len(d) for d in docs) / n
    return idf * tf / (tf + k1 * (1 - b + b * len(doc) / avgdl))


def hybrid_scores(bm25, dense, weight):
    """One query's fused scores: each run min-max scaled to [0, 1] (missing documents 0), then weighted."""

    def minmax(run):
        lo, hi = min(run.values()), max(run.values())
        return {d: (s - lo) / (hi - lo) if hi > lo else 1.0 for d, s in run.items()}

    a, b = minmax(bm25), minmax(dense)
    return {d: (1 - weight) * a.get(d, 0.0) + weight * b.get(d, 0.0) for d in {**bm25, **dense}}
