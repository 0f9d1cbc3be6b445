"""Exercises of notebook 00 (setup and tour)."""

from __future__ import annotations


def _hit_rate(fn) -> None:
    run = {"q1": {"a": 0.9, "b": 0.5}, "q2": {"c": 0.8, "d": 0.7, "e": 0.1}, "q3": {}}
    qrels = {"q1": {"b": 1}, "q2": {"e": 1}, "q3": {"a": 1}}
    got = fn(run, qrels, 2)
    assert abs(got - 1 / 3) < 1e-9, f"hit_rate(run, qrels, 2) should be 1/3 (only q1 has a relevant doc in its top 2), got {got}"
    assert abs(fn(run, qrels, 3) - 2 / 3) < 1e-9, "with k=3, q2's third document counts too"


def _answer_lengths(fn) -> None:
    got = fn({"d1": "one two three", "d2": "  four   five ", "d3": ""})
    assert got == {"d1": 3, "d2": 2, "d3": 0}, f"count words split on whitespace, got {got}"


CHECKS = {"00.1": ("hit_rate", _hit_rate), "00.2": ("answer_lengths", _answer_lengths)}
