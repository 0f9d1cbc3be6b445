"""Exercises of notebook 05 (query-document mismatch: Q-Q retrieval through stored questions, keywords)."""

from __future__ import annotations

BANK_QRELS = {  # stored question -> the answers it leads to (grade 0: judged, not relevant)
    "s1": {"a1": 1},
    "s2": {"a1": 1, "a2": 1},
    "s3": {"a3": 1, "a9": 0},
    "s4": {"a4": 0},
}


def _answers_from_questions(fn) -> None:
    hits = {"s1": 0.62, "s2": 0.81, "s3": 0.40, "s4": 0.95}
    got = fn(hits, BANK_QRELS)
    want = {"a1": 0.81, "a2": 0.81, "a3": 0.40}
    assert "a4" not in got and "a9" not in got, "an answer with grade 0 is not one the stored question leads to: leave it out"
    assert set(got) == set(want), f"the answers reached should be {sorted(want)}, got {sorted(got)}"
    assert got["a1"] == 0.81, f"a1 is reached by s1 (0.62) and s2 (0.81): it takes the best score, 0.81, got {got['a1']}"
    assert got == want, f"answers_from_questions(hits, bank_qrels) should be {want}, got {got}"
    assert fn({"s9": 0.9}, BANK_QRELS) == {}, "a stored question missing from bank_qrels leads to no answer"


def _coverage(fn) -> None:
    test_qrels = {"t1": {"a1": 1}, "t2": {"a5": 1}, "t3": {"a9": 1}, "t4": {"a6": 1, "a3": 1}, "t5": {"a4": 1}}
    got = fn(test_qrels, BANK_QRELS)
    hint = ""
    if any(abs(got - x) < 1e-9 for x in (3 / 5, 4 / 5)):
        hint = " (a9 and a4 are only judged with grade 0 by the stored questions: nothing leads to them)"
    assert abs(got - 2 / 5) < 1e-9, f"coverage should be 2/5 (t1 through s1 or s2, t4 through s3), got {got}{hint}"
    assert fn({"t1": {"a2": 1}}, BANK_QRELS) == 1.0, "one test question, reachable: coverage 1.0"


def _to_keywords(fn) -> None:
    stop = {"what", "is", "a", "does", "my", "the", "if", "i", "do", "it", "how", "to", "of"}
    cases = {
        "What is a deductible?": "deductible",
        "Does my car insurance cover a rental car?": "car insurance cover rental",
        "If I cancel my Life Insurance, do I get my premiums back?": "cancel life insurance get premiums back",
        "How much does it cost to insure a 2019 car?": "much cost insure 2019 car",
    }
    for question, want in cases.items():
        got = fn(question, stop)
        assert got == want, (
            f"to_keywords({question!r}) should be {want!r}, got {got!r} "
            "(lower-case, keep the runs of letters and digits, drop stop words and repeated words, keep the order)"
        )


CHECKS = {
    "05.1": ("answers_from_questions", _answers_from_questions),
    "05.2": ("coverage", _coverage),
    "05.3": ("to_keywords", _to_keywords),
}
