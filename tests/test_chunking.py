"""Chunkers keep exact character spans, respect sizes and overlaps, and read corpora."""

import json

import pytest

from ragcook.errors import RagcookError
from ragcook.models import load_tokenizer as tokenizer
from ragcook.text.chunk import Chunk, chunk_corpus, fixed_tokens, read_corpus, recursive, sentence_spans, sentences

DOC = (
    "Lists are mutable sequences. They hold items of any type!\n\n"
    "Tuples are immutable.  A tuple packs values: t = 12345, 54321, 'hello!'\n"
    "Sets are unordered collections with no duplicates. Why use them? Membership tests are fast.\n\n"
    "Dictionaries map keys to values; keys must be hashable. 字典是映射。它们很有用！"
) * 3


@pytest.mark.parametrize(
    "split",
    [
        lambda t: fixed_tokens(t, "d", size=24, overlap=6),
        lambda t: sentences(t, "d", max_chars=120, overlap=1),
        lambda t: recursive(t, "d", size=24, overlap=4),
        lambda t: recursive(t, "d", size=80, overlap=10, model=None),
    ],
    ids=["tokens", "sentences", "recursive-tokens", "recursive-chars"],
)
def test_every_chunk_is_its_span(split):
    chunks = split(DOC)
    assert len(chunks) > 3
    for c in chunks:
        assert isinstance(c, Chunk) and c.doc_id == "d"
        assert DOC[c.start : c.end] == c.text and c.text.strip() == c.text
    starts = [c.start for c in chunks]
    assert starts == sorted(starts)
    # together the chunks cover every non-space character
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(DOC) if not ch.isspace())


def test_fixed_tokens_size_and_overlap():
    tok = tokenizer()
    chunks = fixed_tokens(DOC, size=20, overlap=5)
    lengths = [len(tok(c.text, add_special_tokens=False)["input_ids"]) for c in chunks]
    assert max(lengths) <= 22 and lengths[0] >= 18  # re-tokenising a span may merge/split a piece
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:]))  # neighbours overlap
    no_overlap = fixed_tokens(DOC, size=20, overlap=0)
    assert all(b.start >= a.end for a, b in zip(no_overlap, no_overlap[1:]))


def test_sentences_never_cut_a_sentence():
    spans = sentence_spans(DOC)
    ends = {e for _, e in spans}
    for c in sentences(DOC, max_chars=150, overlap=0):
        assert c.end in ends
    assert sentence_spans("Hi there. 3.5 is a number! 中文句子。下一句") == [(0, 9), (10, 26), (27, 32), (32, 35)]


def test_bad_sizes_raise():
    with pytest.raises(RagcookError, match="overlap"):
        fixed_tokens(DOC, size=10, overlap=10)
    with pytest.raises(RagcookError, match="unknown method"):
        chunk_corpus({"a": DOC}, "paragraphs")


def test_read_corpus(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\nalpha", encoding="utf-8")
    (tmp_path / "docs" / "b.rst").write_text("B\n=\n\nbeta", encoding="utf-8")
    (tmp_path / "docs" / "skip.bin").write_bytes(b"\x00")
    assert sorted(read_corpus(tmp_path / "docs")) == ["a.md", "b.rst"]
    beir = tmp_path / "corpus.jsonl"
    beir.write_text(json.dumps({"_id": "d1", "title": "T", "text": "body"}) + "\n", encoding="utf-8")
    assert read_corpus(beir) == {"d1": "T. body"}  # the BEIR reader of ragcook.data, title first
    beir.write_text('{"id": 1}\n', encoding="utf-8")
    with pytest.raises(RagcookError, match="corpus.jsonl:1"):
        read_corpus(beir)
    with pytest.raises(RagcookError, match="no such file"):
        read_corpus(tmp_path / "missing")
