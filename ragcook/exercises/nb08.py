"""Exercises of notebook 08 (fine-tuning with sentence-transformers: triplets, hard negatives, duplicates)."""

from __future__ import annotations

QUERIES = {"q1": "how do I cancel?", "q2": "is flood covered?", "q3": "what is a deductible?", "q4": "no answer here"}
CORPUS = {"a": "Call us to cancel.", "b": "Floods need a rider.", "c": "Fire is covered.",
          "d": "A deductible is what you pay first.", "e": "Cancel online too.", "f": "Premiums are monthly."}  # fmt: skip
QRELS = {"q1": {"a": 1, "e": 2, "f": 0}, "q2": {"b": 1}, "q3": {"d": 1}, "q4": {"c": 0}}
RANKING = {"q1": ["e", "f", "a", "c"], "q2": ["b"], "q3": ["d", "a", "b"], "q4": ["c", "f"]}


def _triplet_rows(fn) -> None:
    got = [tuple(r) for r in fn(QUERIES, CORPUS, QRELS, RANKING)]
    want = [("how do I cancel?", "Call us to cancel.", "Premiums are monthly."),
            ("how do I cancel?", "Cancel online too.", "Premiums are monthly."),
            ("what is a deductible?", "A deductible is what you pay first.", "Call us to cancel.")]  # fmt: skip
    assert got and all(len(r) == 3 for r in got), f"return (anchor, positive, negative) rows of texts, got {got[:2]}"
    assert all(r[0] in QUERIES.values() for r in got), "rows hold texts, not ids: look the ids up in queries and corpus"
    assert not any(r[2] in ("Call us to cancel.", "Cancel online too.") and r[0] == "how do I cancel?" for r in got), (
        "a relevant document is never a negative: skip the ranked documents with grade > 0 (e is q1's first hit)"
    )
    assert not any(r[0] == "no answer here" for r in got), "q4 has no document with grade > 0 (grade 0 = judged not relevant)"
    assert not any(r[0] == "is flood covered?" for r in got), (
        "q2's ranking holds only its positive: no negative, so no row (skip it rather than invent one)"
    )
    assert got == want, (
        f"one row per relevant document (qrels order) with the highest-ranked non-relevant document: want {want}, got {got}"
    )


def _false_negatives(fn) -> None:
    rows = [("q a", "ans 1"), ("q b", "ans 2"), ("q c", "ans 1"), ("q d", "ans 3"), ("q e", "ans 1"), ("q f", "ans 2")]
    got = sorted(tuple(p) for p in fn(rows))
    want = [(0, 2), (0, 4), (1, 5), (2, 0), (2, 4), (4, 0), (4, 2), (5, 1)]
    assert all(i != j for i, j in got), "a row's own positive (the diagonal) is its label, not a false negative"
    assert got == want, (
        f"list every (i, j), i != j, where rows[j]'s positive is the same text as rows[i]'s: want {want}, got {got}"
    )
    assert not list(fn([("x", "p"), ("y", "q"), ("x", "r")])), (
        "the same *query* twice is not a false negative: only the positives are columns"
    )


CHECKS = {"08.1": ("triplet_rows", _triplet_rows), "08.2": ("false_negatives", _false_negatives)}
