"""Split documents into chunks that keep their character span in the document.

Three splitters, from the bluntest to the most structure-aware:

* :func:`fixed_tokens`: windows of ``size`` tokens of the base model's tokenizer, ``overlap``
  tokens shared between neighbours. Every chunk fits the model's input exactly.
* :func:`sentences`: whole sentences packed up to ``max_chars``, ``overlap`` sentences repeated.
* :func:`recursive`: LangChain's ``RecursiveCharacterTextSplitter`` (paragraphs, then lines,
  then words), measured in tokens of the base model.

Every :class:`Chunk` carries ``(start, end)`` with ``doc[start:end] == chunk.text``: late chunking
needs the spans to pool token vectors of the whole document per chunk, and generated questions
can point back to the exact place they came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, resolve


@dataclass(frozen=True)
class Chunk:
    """A piece of a document: its text and where it sits, ``doc[start:end] == text``."""

    doc_id: str
    text: str
    start: int
    end: int

    @property
    def id(self) -> str:
        return f"{self.doc_id}#{self.start}-{self.end}"


_TOKENIZERS: dict[str, object] = {}


def tokenizer(model: str = DEFAULT_MODEL):
    """The (fast) tokenizer of a model folder or bundled name, loaded once per process."""
    key = str(model)
    if key not in _TOKENIZERS:
        from transformers import AutoTokenizer

        _TOKENIZERS[key] = AutoTokenizer.from_pretrained(str(resolve(model)), local_files_only=True)
    return _TOKENIZERS[key]


def _check(size: int, overlap: int) -> None:
    if size < 1:
        raise RagcookError(f"chunking: size must be at least 1, got {size}")
    if not 0 <= overlap < size:
        raise RagcookError(f"chunking: overlap must be in [0, size), got overlap={overlap}, size={size}")


def fixed_tokens(
    text: str, doc_id: str = "doc", size: int = 128, overlap: int = 16, model: str = DEFAULT_MODEL
) -> list[Chunk]:
    """Windows of ``size`` tokens, each starting ``size - overlap`` tokens after the previous one."""
    _check(size, overlap)
    tok = tokenizer(model)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    offsets = [(s, e) for s, e in enc["offset_mapping"] if e > s]
    out, step = [], size - overlap
    for i in range(0, len(offsets), step):
        window = offsets[i : i + size]
        start, end = window[0][0], window[-1][1]
        out.append(Chunk(doc_id, text[start:end], start, end))
        if i + size >= len(offsets):
            break
    return out


_SENTENCE = re.compile(r"\S.*?(?:[.!?。！？;；](?=\s|$)|[。！？；]|\n\s*\n|$)", re.S)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of sentences: up to ``. ! ?`` before a space, Chinese end marks, or a blank line."""
    spans = []
    for m in _SENTENCE.finditer(text):
        s, e = m.start(), m.end()
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def sentences(text: str, doc_id: str = "doc", max_chars: int = 600, overlap: int = 1) -> list[Chunk]:
    """Whole sentences packed into chunks of at most ``max_chars`` (a longer sentence stands alone)."""
    if max_chars < 1 or overlap < 0:
        raise RagcookError("chunking.sentences: max_chars must be >= 1 and overlap >= 0")
    spans = sentence_spans(text)
    out, i = [], 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and spans[j][1] - spans[i][0] <= max_chars:
            j += 1
        start, end = spans[i][0], spans[j - 1][1]
        out.append(Chunk(doc_id, text[start:end], start, end))
        if j >= len(spans):
            break
        i = max(i + 1, j - overlap)
    return out


def _locate(text: str, pieces: Iterable[str], doc_id: str) -> list[Chunk]:
    """Spans of pieces that occur in order (with overlap allowed) in ``text``."""
    out, pos = [], 0
    for piece in pieces:
        start = text.find(piece, pos)
        if start < 0:  # overlap may start before pos
            start = text.find(piece)
        if start < 0:
            raise RagcookError(f"chunking: a chunk of {doc_id!r} is not a substring of it")
        out.append(Chunk(doc_id, piece, start, start + len(piece)))
        pos = start + 1
    return out


def recursive(
    text: str,
    doc_id: str = "doc",
    size: int = 128,
    overlap: int = 16,
    model: str | None = DEFAULT_MODEL,
    separators: list[str] | None = None,
) -> list[Chunk]:
    """LangChain's recursive splitter: paragraphs, then lines, sentences and words, ``size`` tokens max.

    ``model=None`` measures in characters instead of tokens.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    _check(size, overlap)
    kw = dict(chunk_size=size, chunk_overlap=overlap, separators=separators or ["\n\n", "\n", ". ", " ", ""])
    if model is None:
        splitter = RecursiveCharacterTextSplitter(**kw)
    else:
        splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(tokenizer(model), **kw)
    return _locate(text, splitter.split_text(text), doc_id)


SPLITTERS: dict[str, Callable[..., list[Chunk]]] = {
    "tokens": fixed_tokens,
    "sentences": sentences,
    "recursive": recursive,
}


def chunk_corpus(corpus: dict[str, str], method: str = "recursive", **kwargs) -> list[Chunk]:
    """Chunk every document of ``corpus`` (id -> text) with one of :data:`SPLITTERS`."""
    if method not in SPLITTERS:
        raise RagcookError(f"chunking: unknown method {method!r}; choose one of {', '.join(SPLITTERS)}")
    fn = SPLITTERS[method]
    return [c for doc_id, text in corpus.items() for c in fn(text, doc_id=doc_id, **kwargs)]


TEXT_SUFFIXES = (".txt", ".md", ".rst", ".markdown")


def read_corpus(path: str | Path) -> dict[str, str]:
    """A corpus (id -> text) from a text/Markdown/reST file, a folder of them, or a BEIR ``corpus.jsonl``.

    Folder documents are named by their path relative to the folder; BEIR titles are prefixed.
    """
    import json

    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TEXT_SUFFIXES))
        if not files:
            raise RagcookError(f"{path}: no {'/'.join(TEXT_SUFFIXES)} files in this folder")
        return {str(p.relative_to(path)): p.read_text(encoding="utf-8") for p in files}
    if not path.is_file():
        raise RagcookError(f"{path}: no such file or folder")
    if path.suffix == ".jsonl":
        corpus = {}
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    doc_id, body = str(row["_id"]), row["text"]
                except (json.JSONDecodeError, KeyError, TypeError):
                    raise RagcookError(f"{path}:{lineno}: expected a BEIR line with '_id' and 'text'") from None
                title = row.get("title") or ""
                corpus[doc_id] = f"{title}\n\n{body}" if title else body
        if not corpus:
            raise RagcookError(f"{path}: no documents")
        return corpus
    return {path.name: path.read_text(encoding="utf-8")}
