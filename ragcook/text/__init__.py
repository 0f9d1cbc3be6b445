"""Text before it is embedded: one :class:`Chunk`, one sentence splitter, the chunkers, word splitting."""

from ragcook.text.chunk import (
    SPLITTERS,
    Chunk,
    chunk_corpus,
    fixed_tokens,
    read_corpus,
    recursive,
    sentence_spans,
    sentences,
)  # fmt: skip
from ragcook.text.words import tokenize_zh

__all__ = [
    "SPLITTERS", "Chunk", "chunk_corpus", "fixed_tokens", "read_corpus", "recursive", "sentence_spans", "sentences",
    "tokenize_zh",
]  # fmt: skip
