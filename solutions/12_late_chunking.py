"""Solutions to notebook 12's exercises (checked by tests/test_exercises.py)."""

import numpy as np


def token_range(offsets, span):
    """[i, j) of the tokens whose characters overlap span; tokens covering no character never count."""
    start, end = span
    hit = [t for t, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
    return hit[0], hit[-1] + 1


def naive_and_late(encode, token_ids, ranges):
    """Chunk vectors two ways: each chunk encoded alone (naive), or pooled from one pass over the document (late)."""

    def unit(v):
        return v / np.linalg.norm(v)

    naive = np.stack([unit(np.asarray(encode(token_ids[i:j])).mean(axis=0)) for i, j in ranges])
    whole = np.asarray(encode(token_ids))
    late = np.stack([unit(whole[i:j].mean(axis=0)) for i, j in ranges])
    return naive, late


def article_spans(title, articles):
    """The title and the articles joined by newlines, and each article's (start, end) in that text."""
    text, spans = title, []
    for article in articles:
        start = len(text) + 1
        text += "\n" + article
        spans.append((start, start + len(article)))
    return text, spans
