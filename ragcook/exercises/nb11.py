"""Exercises of notebook 11 (the source's recipe)."""

from __future__ import annotations

import random


def _draw_negatives(fn) -> None:
    ranked = [f"p{i}" for i in range(1, 121)]  # p1 is rank 1
    got = fn(ranked, {"p3", "p50"}, 10, 100, 7, 13)
    assert len(got) == 7 and len(set(got)) == 7, "draw 7 different passages"
    assert not {"p3", "p50"} & set(got), "never draw a positive"
    others = [p for p in ranked if p not in {"p3", "p50"}]
    window = others[9:100]  # ranks 10..100 of what is left once the positives are dropped
    assert set(got) <= set(window), "draw only from ranks 10-100 (1-based, counted after dropping the positives)"
    assert got == random.Random(13).sample(window, 7), "use random.Random(seed).sample over the window, in rank order"


def _false_negative_share(fn) -> None:
    got = fn([["a", "b"], ["c", "d", "e"], []], [{"b"}, {"x"}, {"y"}])
    assert abs(got - 1 / 5) < 1e-9, f"1 of the 5 drawn negatives is correct: expected 0.2, got {got}"


def _lift(fn) -> None:
    mean, up, down = fn({"q1": 0.5, "q2": 0.2, "q3": 1.0, "q9": 0.0}, {"q1": 0.7, "q2": 0.2, "q3": 0.4})
    assert abs(mean - (0.2 + 0.0 - 0.6) / 3) < 1e-9, "average the differences over the queries both runs have"
    assert (up, down) == (1 / 3, 1 / 3), "q1 improved, q3 got worse, q2 stayed"


CHECKS = {
    "11.1": ("draw_negatives", _draw_negatives),
    "11.2": ("false_negative_share", _false_negative_share),
    "11.3": ("lift", _lift),
}
