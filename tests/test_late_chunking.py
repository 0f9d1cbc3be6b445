"""Late chunking: span -> token mapping, windows, pooling, the chunker and the Python-docs evaluation."""

import numpy as np
import pytest

from ragcook.data.pydoc import load_pydoc_modules, module_page, rst_to_text
from ragcook.encode.late_chunking import LateChunker, mean_pool, token_span, window_starts
from ragcook.errors import RagcookError
from ragcook.eval.late_chunking import chunk_ranks, chunk_spans, context_eval, mention_distances, names, rank_chunks
from ragcook.text.chunk import sentence_spans


@pytest.fixture(scope="module")
def chunker():
    return LateChunker("minilm", max_length=512)


def offsets_of(chunker, text):
    enc = chunker.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    return np.asarray(enc["offset_mapping"]), chunker.tokenizer.convert_ids_to_tokens(enc["input_ids"])


def direct_hidden(chunker, text):
    """The model's last hidden states over [CLS] text [SEP], computed without ragcook."""
    import torch

    tok, model = chunker._load()
    enc = tok(text, return_tensors="pt")
    with torch.inference_mode():
        return model(**enc).last_hidden_state[0].numpy()


# --------------------------------------------------------------------------- pure span logic


def test_token_span_overlap_rule():
    offsets = np.array([[0, 3], [3, 6], [7, 10], [10, 12]])  # "abcdef ghijkl" as four pieces
    assert token_span(offsets, (0, 6)) == (0, 2)
    assert token_span(offsets, (4, 8)) == (1, 3)  # boundaries inside pieces keep both pieces
    assert token_span(offsets, (11, 30)) == (3, 4)  # a span running past the text keeps what it covers


def test_token_span_whitespace_and_empty_raise():
    offsets = np.array([[0, 1], [4, 5]])  # "a   b"
    with pytest.raises(RagcookError, match="covers no token"):
        token_span(offsets, (1, 4))
    with pytest.raises(RagcookError, match="covers no token"):
        token_span(offsets, (2, 2))
    with pytest.raises(RagcookError, match="not a valid"):
        token_span(offsets, (3, 1))


def test_window_starts_cover_everything_with_overlap():
    for n, size, ov in [(10, 10, 3), (11, 10, 3), (100, 30, 8), (513, 510, 128)]:
        starts = window_starts(n, size, ov)
        covered = np.zeros(n, bool)
        for s in starts:
            covered[s : s + size] = True
            assert 0 <= s and s + size <= max(n, size)
        assert covered.all()
        assert starts[-1] + size == max(n, size)  # the last window is full and ends with the text
        assert all(b - a <= size - ov for a, b in zip(starts, starts[1:]))
    with pytest.raises(RagcookError):
        window_starts(10, 5, 5)


def test_pool_mean_and_normalise():
    v = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(mean_pool(v, [(0, 2)], normalize=False), [[2.0, 0.0]])
    np.testing.assert_allclose(np.linalg.norm(mean_pool(v, [(0, 3), (2, 3)]), axis=1), [1.0, 1.0], rtol=1e-6)


# --------------------------------------------------------------------------- with the tokenizer


def test_boundary_inside_a_word_piece_goes_to_both_chunks(chunker):
    text = "unbelievableness tokenization"
    offsets, toks = offsets_of(chunker, text)
    assert toks[:2] == ["unbelievable", "##ness"]
    left, right = token_span(offsets, (0, 14)), token_span(offsets, (14, len(text)))
    assert left == (0, 2) and right[0] == 1  # "##ness" (chars 12-16) is pooled in both
    vecs = chunker.late_chunks([text], [[(0, 14), (14, len(text))]])[0]
    assert vecs.shape == (2, chunker.dim) and np.isfinite(vecs).all()


@pytest.mark.parametrize(
    "text, span, expected",
    [
        ("Café naïve résumé", (5, 10), ["naive"]),  # accents stripped by the tokenizer, offsets kept
        ("本法适用于中华人民共和国", (5, 8), ["中", "[UNK]", "人"]),  # one token per Chinese character
        ("I love 🐍 python 👍🏽!", (7, 8), ["[UNK]"]),  # emoji -> [UNK] with a real character span
        ("I love 🐍 python 👍🏽!", (16, 18), ["[UNK]"]),  # emoji + skin-tone modifier: one token
    ],
)
def test_unicode_spans(chunker, text, span, expected):
    offsets, toks = offsets_of(chunker, text)
    i, j = token_span(offsets, span)
    assert toks[i:j] == expected


def test_special_tokens_are_never_pooled(chunker):
    text = "This module provides an implementation of the heap queue algorithm."
    hidden = direct_hidden(chunker, text)
    tv = chunker.token_vectors([text])[0]
    assert len(tv.vectors) == len(hidden) - 2  # [CLS] and [SEP] are not among the token vectors
    np.testing.assert_allclose(tv.vectors, hidden[1:-1], atol=1e-4)
    whole = chunker.late_chunks([text], [[(0, len(text))]])[0][0]
    content = hidden[1:-1].mean(0)
    np.testing.assert_allclose(whole, content / np.linalg.norm(content), atol=1e-5)
    with_specials = hidden.mean(0)
    assert not np.allclose(whole, with_specials / np.linalg.norm(with_specials), atol=1e-3)


def test_empty_chunk_raises(chunker):
    with pytest.raises(RagcookError, match="covers no token"):
        chunker.late_chunks(["Hello   world"], [[(0, 5), (5, 8)]])
    with pytest.raises(RagcookError, match="empty"):
        chunker.encode(["fine", "  "])


def test_naive_encoding_matches_sentence_transformers(chunker):
    from ragcook.models import load_sentence_transformer

    texts = ["Pop and return the smallest item from the heap.", "本法适用于中华人民共和国", "x"]
    st = load_sentence_transformer("minilm").encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(chunker.encode(texts), st, atol=1e-5)


def test_windowing_over_a_long_text():
    small = LateChunker("minilm", max_length=34, overlap=8)  # 32 content tokens a window
    text = " ".join(f"Sentence number {k} talks about heaps and queues." for k in range(12))
    tv = small.token_vectors([text])[0]
    n = len(tv.vectors)
    assert n > 32 and len(tv.windows) == len(window_starts(n, 32, 8)) > 2
    ids = small.tokenizer(text, add_special_tokens=False)["input_ids"]
    # each token's vector is the one from the window where it is most central
    per_window = {}
    for s in tv.windows:
        wids = [small.tokenizer.cls_token_id] + ids[s : s + 32] + [small.tokenizer.sep_token_id]
        per_window[s] = direct_hidden_ids(small, wids)[1:-1]
    for t in [0, 5, 20, 31, n // 2, n - 1]:
        best = max((s for s in tv.windows if s <= t < s + 32), key=lambda s: min(t - s, s + 31 - t))
        np.testing.assert_allclose(tv.vectors[t], per_window[best][t - best], atol=1e-4)
    # a late chunk of a long text is finite and normalised; "mean" combining differs from "central"
    spans = chunk_spans(text, max_chars=60)
    late = small.late_chunks([text], [spans])[0]
    assert late.shape == (len(spans), small.dim)
    np.testing.assert_allclose(np.linalg.norm(late, axis=1), 1.0, rtol=1e-5)
    mean = LateChunker("minilm", max_length=34, overlap=8, combine="mean").token_vectors([text])[0]
    assert not np.allclose(mean.vectors, tv.vectors, atol=1e-3)


def direct_hidden_ids(chunker, ids):
    import torch

    _, model = chunker._load()
    with torch.inference_mode():
        return model(input_ids=torch.tensor([ids])).last_hidden_state[0].numpy()


def test_short_text_is_one_window_identical_to_a_single_pass(chunker):
    text = "heapq — Heap queue algorithm. This module provides an implementation of it."
    tv = chunker.token_vectors([text])[0]
    assert tv.windows == [0]
    np.testing.assert_allclose(tv.vectors, direct_hidden(chunker, text)[1:-1], atol=1e-4)


def test_max_length_beyond_the_model_is_refused():
    with pytest.raises(RagcookError, match="positions"):
        LateChunker("minilm", max_length=1024).token_vectors(["a"])


def test_context_moves_chunks_that_do_not_name_the_subject_towards_it(chunker):
    doc = next(d for d in load_pydoc_modules() if d["id"] == "zipapp")
    spans = chunk_spans(doc["text"])
    others = [k for k, (s, e) in enumerate(spans) if not names("zipapp", doc["text"][s:e])]
    assert len(others) >= 5
    q = chunker.encode([doc["subject"]])[0]
    late = chunker.late_chunks([doc["text"]], [spans])[0][others] @ q
    naive = chunker.naive_chunks([doc["text"]], [spans])[0][others] @ q
    assert late.mean() > naive.mean() + 0.05  # "this module ..." chunks move towards "zipapp"


# --------------------------------------------------------------------------- text and data


def test_sentence_and_chunk_spans():
    text = "First one, e.g. this. Second!  Third?\n\n第一句。第二句！"
    sents = [text[s:e] for s, e in sentence_spans(text)]
    assert sents == ["First one, e.g. this.", "Second!", "Third?", "第一句。", "第二句！"]
    chunks = [text[s:e] for s, e in chunk_spans(text, max_chars=30)]
    assert chunks == ["First one, e.g. this. Second!", "Third?", "第一句。第二句！"]  # no chunk crosses "\n\n"
    assert chunk_spans("   ") == []
    with pytest.raises(RagcookError):
        chunk_spans(text, max_chars=0)


def test_rst_to_text_keeps_prose_and_drops_code():
    rst = """:mod:`spam` --- Eggs and ham
============================

.. module:: spam
   :synopsis: Eggs.

.. index:: single: eggs

This module uses :func:`ham` and ``eggs`` with *care*. Example::

    spam.ham(1)

>>> spam.ham(2)
3

.. function:: ham(n)

   Return *n* plus one.

   .. versionadded:: 3.2
      Hidden.
"""
    text = rst_to_text(rst)
    assert "This module uses ham and eggs with care. Example:\n\n" in text  # the code block ends it
    assert "ham(n): Return n plus one." in text
    for gone in ("spam.ham(1)", ">>>", "synopsis", "index", "Hidden", "versionadded"):
        assert gone not in text
    page = module_page(rst)
    assert page["subject"] == "spam" and page["text"].startswith("spam — Eggs and ham\n\n")


def test_headings_glue_to_their_paragraph_and_refs_resolve():
    rst = """.. _spam-howto:

Using spam
----------

See :ref:`spam-howto`, :ref:`the tutorial <tut>` and :ref:`other-page`.
"""
    assert rst_to_text(rst) == "Using spam\nSee Using spam, the tutorial and other page."


def test_queries_follow_the_stated_rule():
    docs = [
        {"id": "re", "subject": "re", "text": "re — Regular expressions\n\nThis module returns matches. It is fast."},
        {"id": "heapq", "subject": "heapq", "text": "heapq — Heaps\n\nUse heapq.heappush here.\n\nIt keeps a heap."},
    ]
    ev = context_eval(docs, max_chars=20)
    assert ev.queries == {"q-re": "re", "q-heapq": "heapq"}
    assert set(ev.qrels["q-re"]) == {"re#001", "re#002"}  # "returns" does not name "re"
    assert ev.ignore["q-heapq"] == {"heapq#000", "heapq#001"}  # "heapq.heappush" names it
    assert set(ev.qrels["q-heapq"]) == {"heapq#002"}
    vecs = np.eye(len(ev.corpus), dtype=np.float32)
    run = rank_chunks(ev, vecs[:2], vecs)
    assert not set(run["q-heapq"]) & ev.ignore["q-heapq"]
    assert names("os.path", "see os.path.join") and not names("re", "return")


def test_shipped_pydoc_modules():
    docs = load_pydoc_modules()
    assert len(docs) >= 40 and len({d["id"] for d in docs}) == len(docs)
    for d in docs:
        assert d["text"].startswith(d["subject"] + " — ") and 1000 <= len(d["text"]) <= 3500
    ev = context_eval(docs)
    assert len(ev.queries) == len(docs)
    assert all(ev.qrels[q] for q in ev.queries)
    assert all(not names(ev.queries[q], ev.corpus[c]) for q in ev.queries for c in ev.qrels[q])


def test_chunk_ranks_share_ties():
    docs = [{"id": "a", "subject": "a", "text": "a — x\n\nOne.\n\nTwo.\n\nThree."}]
    ev = context_eval(docs)
    same = np.ones((len(ev.corpus), 2), np.float32)  # every chunk ties (a whole-document vector)
    r = chunk_ranks(ev, np.ones((1, 2), np.float32), same, k=1)
    assert list(r["rank"]) == [2.0, 2.0, 2.0]  # three relevant chunks tie for ranks 1-3
    np.testing.assert_allclose(r["top"], 1 / 3)


def test_mention_distances_grow_away_from_the_subject(chunker):
    text = "zipapp — tools\n\nIt is small.\n\nIt is very very very very very very small.\n\nAlso fast."
    ev = context_eval([{"id": "zipapp", "subject": "zipapp", "text": text}], max_chars=60)
    d = mention_distances(chunker, ev)
    assert list(d) == ["zipapp#001", "zipapp#002", "zipapp#003"]
    assert 1 <= d["zipapp#001"] <= 4 < d["zipapp#002"] < d["zipapp#003"]
