"""Solutions to notebook 06's exercises (checked by tests/test_exercises.py)."""

import random
import re


def word_windows(text, size, overlap):
    """Character spans (start, end) of windows of size words, overlap words shared by neighbours."""
    words = [m.span() for m in re.finditer(r"\S+", text)]
    spans = []
    for first in range(0, len(words), size - overlap):
        last = min(first + size, len(words)) - 1
        spans.append((words[first][0], words[last][1]))
        if last == len(words) - 1:
            break
    return spans


def sample_negatives(ranked, positives, lo, hi, n, seed):
    """n passages drawn (seeded) from ranks lo..hi of the ranking with the positives removed."""
    window = [p for p in ranked if p not in positives][lo - 1 : hi]
    return random.Random(seed).sample(window, n)
