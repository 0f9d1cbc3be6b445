"""Exercises of notebook 06 (building samples: chunks that keep their spans, hard negatives from a rank window)."""

from __future__ import annotations

import re


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


def _word_windows(fn) -> None:
    got = [tuple(s) for s in fn("a bb ccc dd e", 3, 1)]
    assert got == [(0, 8), (5, 13)], f"word_windows('a bb ccc dd e', 3, 1) should be [(0, 8), (5, 13)], got {got}"
    text = "Python is easy to learn.\nIt has   efficient high-level data structures and a simple approach\n\nto OOP."
    words = _words(text)
    for size, overlap in ((4, 1), (5, 2), (3, 0), (20, 5)):
        spans = [tuple(s) for s in fn(text, size, overlap)]
        step, want = size - overlap, []
        for first in range(0, len(words), step):
            last = min(first + size, len(words)) - 1
            want.append((words[first][0], words[last][1]))
            if last == len(words) - 1:
                break
        assert all(not text[a:b][:1].isspace() and not text[a:b][-1:].isspace() for a, b in spans), (
            "a span starts at its first word and ends right after its last word (no surrounding spaces)"
        )
        assert spans == want, (
            f"word_windows(text, {size}, {overlap}): windows of {size} words, each starting {step} words after the previous, "
            f"the last one ending at the text's last word; want {want}, got {spans}"
        )
    assert list(fn("   ", 3, 1)) == [], "a text without words has no windows"


def _sample_negatives(fn) -> None:
    ranked = [f"p{i}" for i in range(1, 31)]  # p1 ranks first
    positives = {"p1", "p3", "p12"}
    window = [p for p in ranked if p not in positives][4:12]  # ranks 5..12 once the positives are gone
    draws = [list(fn(ranked, positives, 5, 12, 3, seed)) for seed in range(40)]
    for d in draws:
        assert len(d) == 3 and len(set(d)) == 3, f"draw n=3 *different* passages, got {d}"
        assert not positives & set(d), f"a positive is never a negative, got {d}"
        outside = [p for p in d if p not in window]
        assert not outside, (
            f"{outside} lie outside ranks 5..12: drop the positives first, then take ranks lo..hi (counted from 1, both "
            f"included) of what is left, i.e. {window}"
        )
    assert list(fn(ranked, positives, 5, 12, 3, 7)) == draws[7], "the same seed must give the same negatives"
    assert len({tuple(d) for d in draws}) > 10, "the draw should be random (seeded), not always the same passages"
    assert {p for d in draws for p in d} == set(window), f"every passage of the window should be drawn sometimes: {window}"


CHECKS = {"06.1": ("word_windows", _word_windows), "06.2": ("sample_negatives", _sample_negatives)}
