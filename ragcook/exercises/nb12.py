"""Exercises of notebook 12 (late chunking: character spans to tokens, naive vs late pooling, a law's article spans)."""

from __future__ import annotations

import numpy as np

# "unbelievableness tokenization" as a WordPiece tokenizer cuts it, with [CLS] and [SEP] (which cover no character)
OFFSETS = [(0, 0), (0, 2), (2, 5), (5, 7), (7, 12), (12, 16), (17, 22), (22, 29), (0, 0)]


def _token_range(fn) -> None:
    got = tuple(fn(OFFSETS, (0, 14)))
    assert got[0] != 0 and got[1] != len(OFFSETS), (
        f"got {got}: [CLS] and [SEP] have offsets (0, 0), they cover no character and never belong to a chunk"
    )
    assert got != (1, 5), "a token belongs to a chunk when their characters *overlap*, not only when the chunk contains it"
    assert got == (1, 6), f"token_range(offsets, (0, 14)) should be (1, 6): 'un' ... '##ness' (cut inside it), got {got}"
    got = tuple(fn(OFFSETS, (14, 29)))
    assert got == (5, 8), (
        f"token_range(offsets, (14, 29)) should be (5, 8): '##ness' goes to both chunks, [SEP] to none; got {got}"
    )
    assert tuple(fn(OFFSETS, (17, 22))) == (6, 7), "return the half-open range [i, j): a one-token chunk is (i, i + 1)"
    assert tuple(fn(OFFSETS, (16, 18))) == (6, 7), "the space at 16 belongs to no token; 'token' starts at 17"


def _naive_and_late(fn) -> None:
    table = np.random.default_rng(12).standard_normal((10, 4))

    def encode(ids):  # a toy contextual encoder: each token's vector plus the mean of its input
        e = table[np.asarray(ids)]
        return e + e.mean(axis=0)

    ids, ranges = [3, 1, 4, 1, 5, 9, 2, 6], [(0, 3), (3, 5), (5, 8)]
    naive, late = (np.asarray(x, dtype=float) for x in fn(encode, ids, ranges))
    assert naive.shape == late.shape == (3, 4), (
        f"one vector per chunk: expected two (3, 4) arrays, got {naive.shape}, {late.shape}"
    )

    def unit(v):
        return v / np.linalg.norm(v)

    want_naive = np.stack([unit(encode(ids[i:j]).mean(axis=0)) for i, j in ranges])
    want_late = np.stack([unit(encode(ids)[i:j].mean(axis=0)) for i, j in ranges])
    assert np.allclose(np.linalg.norm(naive, axis=1), 1) and np.allclose(np.linalg.norm(late, axis=1), 1), (
        "L2-normalise every chunk vector (length 1), as the model's mean pooling does"
    )
    assert np.allclose(naive, want_naive, atol=1e-6), "naive: encode each chunk's ids alone, then mean its token vectors"
    assert np.allclose(late, want_late, atol=1e-6), (
        "late: encode the whole document once, then mean the token vectors inside each chunk's range"
    )


def _article_spans(fn) -> None:
    title, articles = "中华人民共和国专利法", ["第一条 为了保护专利权人的合法权益。", "第二条 本法所称的发明创造。"]
    text, spans = fn(title, articles)
    assert text == "中华人民共和国专利法\n第一条 为了保护专利权人的合法权益。\n第二条 本法所称的发明创造。", (
        f"the title, then one article per line, joined by newlines; got {text!r}"
    )
    assert [text[s:e] for s, e in spans] == articles, f"text[start:end] must be each article exactly, got spans {spans}"
    assert fn("标题", []) == ("标题", []), "a law without articles is its title alone, with no span"


CHECKS = {
    "12.1": ("token_range", _token_range),
    "12.2": ("naive_and_late", _naive_and_late),
    "12.3": ("article_spans", _article_spans),
}
