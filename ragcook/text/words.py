"""Splitting text into words: jieba for Chinese, which writes no spaces between words.

BM25 (``ragcook.retrieve.bm25``) and Chinese word2vec (``ragcook.encode.wordvec``) both count
words, so both use this one function.
"""

from __future__ import annotations

import re


def tokenize_zh(text: str) -> list[str]:
    """Chinese words via jieba (precise mode), dropping punctuation and whitespace."""
    import jieba

    jieba.setLogLevel(60)  # silence "Building prefix dict" on every first use
    return [w for w in jieba.lcut(text) if w.strip() and re.search(r"\w", w)]
