"""Exercises of notebook 10 (LlamaIndex: the (queries, corpus, relevant_docs) format, hit rate and MRR)."""

from __future__ import annotations

RELEVANT = {"q1": ["d3"], "q2": ["d1", "d4"], "q3": ["d2"], "q4": ["d5"]}
RETRIEVED = {"q1": ["d1", "d2", "d3", "d4"], "q2": ["d4", "d1"], "q3": ["d5", "d1", "d3", "d2"]}


def _hit_rate_and_mrr(fn) -> None:
    got = fn(RETRIEVED, RELEVANT, 3)
    assert len(got) == 2, f"return a pair (hit_rate, mrr), got {got!r}"
    hit, mrr = map(float, got)
    assert abs(hit - 0.5) < 1e-9, (
        f"hit rate@3 should be 2/4: q1 and q2 have a relevant document in their top 3, q3's is 4th and q4 retrieved "
        f"nothing (it still counts, as a miss); got {hit}"
    )
    want = (1 / 3 + 1) / 4
    assert abs(mrr - want) < 1e-9, (
        f"MRR@3 should be (1/3 + 1 + 0 + 0) / 4 = {want:.4f}: 1 / rank of the *first* relevant document in the top 3, "
        f"0 if none, averaged over every query in relevant_docs; got {mrr}"
    )
    hit4, mrr4 = map(float, fn(RETRIEVED, RELEVANT, 4))
    assert abs(hit4 - 0.75) < 1e-9 and abs(mrr4 - (1 / 3 + 1 + 1 / 4) / 4) < 1e-9, "with k=4, q3's relevant document (4th) counts"


def _to_qa_dataset(fn) -> None:
    queries = {"q1": "cancel?", "q2": "floods?", "q3": "fire?", "q4": "tax?"}
    corpus = {"a": "Call us.", "b": "A rider.", "c": "Covered."}
    qrels = {"q1": {"a": 1, "b": 0}, "q2": {"b": 2, "c": 1}, "q3": {"c": 0}, "q4": {"z": 1}}
    got = fn(queries, corpus, qrels)
    assert set(got) == {"queries", "corpus", "relevant_docs"}, (
        f"return a dict with queries, corpus, relevant_docs; got {set(got)}"
    )
    assert got["corpus"] == corpus, "the corpus is passed through whole: it is what the retriever searches"
    assert got["relevant_docs"].get("q1") == ["a"], "relevant_docs lists the ids with grade > 0 (b has grade 0 for q1)"
    assert got["relevant_docs"].get("q2") == ["b", "c"], "keep every relevant document, in the qrels' order"
    assert "q3" not in got["relevant_docs"] and "q3" not in got["queries"], (
        "q3 has no relevant document: leave it out of queries and relevant_docs (it could only count as a miss)"
    )
    assert "q4" not in got["queries"], "q4's only relevant id 'z' is not in the corpus: it cannot be found, leave it out"
    assert got["queries"] == {"q1": "cancel?", "q2": "floods?"}, (
        f"queries keeps the texts of the kept queries, got {got['queries']}"
    )


CHECKS = {"10.1": ("hit_rate_and_mrr", _hit_rate_and_mrr), "10.2": ("to_qa_dataset", _to_qa_dataset)}
