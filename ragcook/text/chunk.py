"""Split documents into chunks that keep their character span in the document.

Three splitters, from the bluntest to the most structure-aware:

* :func:`fixed_tokens`: windows of ``size`` tokens of the base model's tokenizer, ``overlap``
  tokens shared between neighbours. Every chunk fits the model's input exactly.
* :func:`sentences`: whole sentences (:func:`sentence_spans`) packed up to ``max_chars``,
  ``overlap`` sentences repeated.
* :func:`recursive`: LangChain's ``RecursiveCharacterTextSplitter`` (paragraphs, then lines,
  then words), measured in tokens of the base model.

Every :class:`Chunk` carries ``(start, end)`` with ``doc[start:end] == chunk.text``: late chunking
needs the spans to pool token vectors of the whole document per chunk, and generated questions
can point back to the exact place they came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ragcook.data.beir import read_texts
from ragcook.errors import DataError, RagcookError, warn
from ragcook.models import DEFAULT_MODEL, load_tokenizer


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


def _check(size: int, overlap: int) -> None:
    if size < 1:
        raise RagcookError(f"chunking: size must be at least 1, got {size}")
    if not 0 <= overlap < size:
        raise RagcookError(f"chunking: overlap must be in [0, size), got overlap={overlap}, size={size}")


def fixed_tokens(text: str, doc_id: str = "doc", size: int = 128, overlap: int = 16, model: str = DEFAULT_MODEL) -> list[Chunk]:
    """Windows of ``size`` tokens, each starting ``size - overlap`` tokens after the previous one."""
    _check(size, overlap)
    tok = load_tokenizer(model)
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


_ABBREV = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "dr", "cf", "no", "fig", "approx", "al"}
_SENT_END = re.compile(r"[.!?]+[\"')\]]*\s+|[。！？；]+")
_PARA = re.compile(r"\n[ \t]*\n")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (stripped), never crossing a blank line.

    A rule-based splitter: ``. ! ?`` then whitespace (not after e.g./i.e./etc.) or Chinese
    ``。！？；``. Good enough for documentation prose; any other splitter's spans work as well.
    """
    spans: list[tuple[int, int]] = []
    for ps, pe in _paragraph_spans(text):
        start = ps
        for m in _SENT_END.finditer(text, ps, pe):
            word = re.search(r"(\S+?)[.!?]*$", text[start : m.start() + 1])
            if m.group().strip() == "." and word and word.group(1).lower().rstrip(".") in _ABBREV:
                continue
            end = m.end()
            _add_stripped(text, start, end, spans)
            start = end
        _add_stripped(text, start, pe, spans)
    return spans


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for m in _PARA.finditer(text):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(text)))
    return out


def _add_stripped(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    seg = text[start:end]
    if seg.strip():
        lead = len(seg) - len(seg.lstrip())
        spans.append((start + lead, start + len(seg.rstrip())))


def sentences(
    text: str, doc_id: str = "doc", max_chars: int = 600, overlap: int = 1, keep_paragraphs: bool = False
) -> list[Chunk]:
    """Whole sentences packed into chunks of at most ``max_chars`` (a longer sentence stands alone).

    Neighbouring chunks repeat ``overlap`` sentences; ``keep_paragraphs=True`` never lets a chunk
    cross a blank line (what late chunking's evaluation uses, with ``overlap=0``).
    """
    if max_chars < 1 or overlap < 0:
        raise RagcookError("chunking.sentences: max_chars must be >= 1 and overlap >= 0")
    spans = sentence_spans(text)
    paras = _paragraph_spans(text)
    para = [next(k for k, (a, b) in enumerate(paras) if a <= s <= b) for s, _ in spans] if keep_paragraphs else [0] * len(spans)
    out, i = [], 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and spans[j][1] - spans[i][0] <= max_chars and para[j] == para[i]:
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
        splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(load_tokenizer(model), **kw)
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
    Empty documents (or only spaces) are skipped with one warning that counts them.
    """
    path = Path(path)
    empty_lines: list[int] = []
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(TEXT_SUFFIXES))
        if not files:
            raise RagcookError(f"{path}: no {'/'.join(TEXT_SUFFIXES)} files in this folder")
        docs = {str(p.relative_to(path)): _read_text(p) for p in files}
    elif not path.is_file():
        raise RagcookError(f"{path}: no such file or folder")
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        docs, empty_lines = read_texts(path, "document")  # empty texts are left out; name their lines
    else:
        docs = {path.name: _read_text(path)}
    empty_docs = [f"line {n}" for n in empty_lines] + [name for name, text in docs.items() if not text.strip()]
    if empty_docs:
        more = f" and {len(empty_docs) - 5} more" if len(empty_docs) > 5 else ""
        warn(f"{path}: skipped {len(empty_docs)} empty documents ({', '.join(empty_docs[:5])}{more})")
    corpus = {name: text for name, text in docs.items() if text.strip()}
    if not corpus:
        raise DataError(f"{path}: no documents with text")
    return corpus


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
