"""Late chunking: run the encoder once over the whole text, then mean-pool token vectors per chunk.

Naive chunking embeds every chunk on its own, so a chunk that says "This module provides ..."
has lost what "this module" is. Late chunking (Günther et al., 2024, "Late Chunking: Contextual
Chunk Embeddings Using Long-Context Embedding Models") encodes the whole document first, so
each token vector has attended to the rest of the text, and only then cuts: a chunk's vector
is the mean of the vectors of the tokens inside its character span.

Chunks are plain ``(start, end)`` character spans over the text (any chunker's output works).
A span maps to tokens through the tokenizer's offset mapping; a token belongs to every chunk
its characters overlap, so a word piece cut by a chunk boundary counts in both chunks and no
token of a text is ever lost. Special tokens ([CLS], [SEP]) are never pooled.

The encoder only has ``max_length`` positions (512 for BERT-style models such as MiniLM). A
longer text is encoded in overlapping windows; each token keeps the vector from the window
in which it sits most centrally (``combine="central"``) or the mean over the windows that hold
it (``combine="mean"``). Context therefore reaches at most one window: a chunk further than
that from every sentence that names its subject cannot see any of them (and with
all-MiniLM-L6-v2, fine-tuned on 128-token inputs, the gain fades well before; see notebook 11).

The second half of the module builds the evaluation of notebook 11 from the Python docs:
module pages of the standard library (``build_pydoc_modules``), split into chunks, with the
module's name as the query and the chunks that do not name the module as the relevant ones.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ragcook.errors import DataError, RagcookError
from ragcook.models import DEFAULT_MODEL, resolve

Span = tuple[int, int]

#: all-MiniLM-L6-v2 has 512 position embeddings (sentence-transformers truncates at 256 by
#: default, and the model was fine-tuned on 128-token inputs). Late chunking needs context,
#: so the default window uses every position the model has; notebook 11 compares 256.
DEFAULT_MAX_LENGTH = 512


# --------------------------------------------------------------------------- spans -> tokens


def token_span(offsets: np.ndarray, span: Span) -> tuple[int, int]:
    """Token index range ``[i, j)`` of the tokens whose characters overlap ``span``.

    ``offsets`` is the ``(n_tokens, 2)`` character span of each content token (no special
    tokens), in text order. A token counts when ``token_start < end and token_end > start``, so a
    boundary inside a word piece gives that piece to both neighbouring chunks.
    """
    start, end = int(span[0]), int(span[1])
    if end < start or start < 0:
        raise RagcookError(f"chunk span {span} is not a valid (start, end) pair with 0 <= start <= end")
    offsets = np.asarray(offsets).reshape(-1, 2)
    hit = np.flatnonzero((offsets[:, 0] < end) & (offsets[:, 1] > start) & (offsets[:, 1] > offsets[:, 0]))
    if hit.size == 0:
        raise RagcookError(
            f"chunk span {span} covers no token (empty or whitespace only): drop such chunks before embedding"
        )
    return int(hit[0]), int(hit[-1]) + 1


def token_spans(offsets: np.ndarray, spans: list[Span]) -> list[tuple[int, int]]:
    """:func:`token_span` for every chunk."""
    return [token_span(offsets, s) for s in spans]


def window_starts(n_tokens: int, size: int, overlap: int) -> list[int]:
    """Start positions of windows of ``size`` tokens covering ``n_tokens``, ``overlap`` shared.

    The last window is aligned to the end of the text, so it is always full.
    """
    if size < 1:
        raise RagcookError(f"window size must be >= 1 token, got {size}")
    if not 0 <= overlap < size:
        raise RagcookError(f"overlap must be in [0, window size {size}), got {overlap}")
    if n_tokens <= size:
        return [0]
    step = size - overlap
    starts = list(range(0, n_tokens - size, step))
    return starts + [n_tokens - size]


def pool(vectors: np.ndarray, spans: list[tuple[int, int]], normalize: bool = True) -> np.ndarray:
    """Mean of ``vectors[i:j]`` for every token range, L2-normalised (cosine-ready) by default."""
    out = np.stack([vectors[i:j].mean(axis=0) for i, j in spans]).astype(np.float32)
    if normalize:
        out /= np.linalg.norm(out, axis=1, keepdims=True).clip(1e-12)
    return out


@dataclass
class TokenVectors:
    """Contextual vectors of a text's content tokens (no special tokens) and their character spans."""

    vectors: np.ndarray  # (n_tokens, dim) float32
    offsets: np.ndarray  # (n_tokens, 2) int64: character span of each token in the text
    windows: list[int] = field(default_factory=list)  # token start of every window that was run


# --------------------------------------------------------------------------- the encoder


class LateChunker:
    """A transformers encoder that embeds chunks late (in context) or naively (alone).

    ``model`` is a bundled name (``"minilm"``) or any Hugging Face folder; ``max_length`` counts
    the special tokens too; neighbouring windows share ``overlap`` tokens (default: a quarter of
    a window, 127 of 510 for 512 positions). Batches hold at most ``batch_size`` texts and about
    ``batch_tokens`` tokens. Vectors are mean-pooled and L2-normalised, like all-MiniLM-L6-v2.
    """

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        max_length: int = DEFAULT_MAX_LENGTH,
        overlap: int | None = None,
        combine: str = "central",
        batch_size: int = 64,
        batch_tokens: int = 4096,
        device: str = "cpu",
    ):
        if combine not in ("central", "mean"):
            raise RagcookError(f"combine must be 'central' or 'mean', got {combine!r}")
        self.model_path = resolve(model)
        self.max_length, self.overlap, self.combine = max_length, overlap, combine
        self.batch_size, self.batch_tokens, self.device = batch_size, batch_tokens, device
        self._tok = self._model = None

    # -- loading
    def _load(self):
        if self._model is None:
            import torch
            from transformers import AutoModel, AutoTokenizer

            self._tok = AutoTokenizer.from_pretrained(str(self.model_path))
            self._model = AutoModel.from_pretrained(str(self.model_path)).to(self.device).eval()
            limit = getattr(self._model.config, "max_position_embeddings", self.max_length)
            if self.max_length > limit:
                raise RagcookError(f"max_length {self.max_length} > the model's {limit} positions; lower it")
            # How this tokenizer wraps a text: the special tokens before and after the content.
            probe = self._tok("a", return_special_tokens_mask=True)
            mask, ids = probe["special_tokens_mask"], probe["input_ids"]
            first = mask.index(0)
            last = len(mask) - 1 - mask[::-1].index(0)
            self._prefix, self._suffix = ids[:first], ids[last + 1 :]
            self._torch = torch
        return self._tok, self._model

    @property
    def tokenizer(self):
        return self._load()[0]

    @property
    def window_size(self) -> int:
        """Content tokens per window (``max_length`` minus the special tokens)."""
        self._load()
        return self.max_length - len(self._prefix) - len(self._suffix)

    def _run(self, batches: list[list[int]]) -> list[np.ndarray]:
        """Last hidden states of already-wrapped id lists, in order, padding removed."""
        tok, model = self._load()
        torch = self._torch
        order = sorted(range(len(batches)), key=lambda i: -len(batches[i]))
        out: list[np.ndarray | None] = [None] * len(batches)
        pad = tok.pad_token_id or 0
        groups, b = [], 0
        while b < len(order):  # longest first; a batch holds about batch_tokens tokens
            width = len(batches[order[b]])
            size = max(1, min(self.batch_size, self.batch_tokens // max(width, 1)))
            groups.append(order[b : b + size])
            b += size
        for idx in groups:
            width = max(len(batches[i]) for i in idx)
            ids = torch.full((len(idx), width), pad, dtype=torch.long)
            att = torch.zeros((len(idx), width), dtype=torch.long)
            for r, i in enumerate(idx):
                ids[r, : len(batches[i])] = torch.tensor(batches[i])
                att[r, : len(batches[i])] = 1
            with torch.inference_mode():
                hidden = model(input_ids=ids.to(self.device), attention_mask=att.to(self.device)).last_hidden_state
            hidden = hidden.float().cpu().numpy()
            for r, i in enumerate(idx):
                out[i] = hidden[r, : len(batches[i])]
        return out  # type: ignore[return-value]

    # -- token vectors
    def token_vectors(self, texts: list[str]) -> list[TokenVectors]:
        """Contextual vectors of every content token of each text, long texts in windows."""
        tok, _ = self._load()
        size = self.window_size
        overlap = size // 4 if self.overlap is None else self.overlap
        enc = tok(list(texts), add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        jobs: list[list[int]] = []
        plan: list[list[tuple[int, int]]] = []  # per text: (job index, start) of each window
        for ids in enc["input_ids"]:
            starts = window_starts(len(ids), size, overlap) if ids else []
            plan.append([(len(jobs) + k, s) for k, s in enumerate(starts)])
            jobs.extend(self._prefix + ids[s : s + size] + self._suffix for s in starts)
        hidden = self._run(jobs)
        p = len(self._prefix)
        out = []
        for t, ids in enumerate(enc["input_ids"]):
            offsets = np.asarray(enc["offset_mapping"][t], dtype=np.int64).reshape(-1, 2)
            n = len(ids)
            if n == 0:
                out.append(TokenVectors(np.zeros((0, self._model.config.hidden_size), np.float32), offsets, []))
                continue
            wins = [(hidden[j][p : p + min(size, n - s)], s) for j, s in plan[t]]
            out.append(TokenVectors(self._combine(wins, n), offsets, [s for _, s in wins]))
        return out

    def _combine(self, wins: list[tuple[np.ndarray, int]], n: int) -> np.ndarray:
        if len(wins) == 1:
            return wins[0][0].astype(np.float32)
        dim = wins[0][0].shape[1]
        if self.combine == "mean":
            acc, cnt = np.zeros((n, dim), np.float64), np.zeros((n, 1))
            for vec, s in wins:
                acc[s : s + len(vec)] += vec
                cnt[s : s + len(vec)] += 1
            return (acc / cnt).astype(np.float32)
        # central: each token from the window where its distance to the nearest edge is largest
        pos = np.arange(n)[:, None]
        starts = np.array([s for _, s in wins])[None, :]
        lens = np.array([len(v) for v, _ in wins])[None, :]
        inside = (pos >= starts) & (pos < starts + lens)
        margin = np.where(inside, np.minimum(pos - starts, starts + lens - 1 - pos), -1)
        best = margin.argmax(axis=1)
        out = np.empty((n, dim), np.float32)
        for w, (vec, s) in enumerate(wins):
            rows = np.flatnonzero(best == w)
            out[rows] = vec[rows - s]
        return out

    # -- chunk embeddings
    def late_chunks(self, texts: list[str], spans: list[list[Span]]) -> list[np.ndarray]:
        """One ``(n_chunks, dim)`` array per text: chunk vectors pooled from the whole-text pass."""
        if len(texts) != len(spans):
            raise RagcookError(f"late_chunks: {len(texts)} texts but {len(spans)} span lists")
        return [self.pool_spans(tv, sp) for tv, sp in zip(self.token_vectors(texts), spans)]

    def pool_spans(self, tv: TokenVectors, spans: list[Span]) -> np.ndarray:
        """Chunk vectors from already computed token vectors (``(0, dim)`` when there are no spans)."""
        if not spans:
            return np.zeros((0, self.dim), np.float32)
        return pool(tv.vectors, token_spans(tv.offsets, spans))

    def naive_chunks(self, texts: list[str], spans: list[list[Span]]) -> list[np.ndarray]:
        """The baseline: every chunk's text encoded alone (what a plain RAG pipeline does)."""
        if len(texts) != len(spans):
            raise RagcookError(f"naive_chunks: {len(texts)} texts but {len(spans)} span lists")
        flat = [t[s:e] for t, sp in zip(texts, spans) for s, e in sp]
        vecs = self.encode(flat)
        sizes = np.cumsum([0] + [len(sp) for sp in spans])
        return [vecs[a:b] for a, b in zip(sizes[:-1], sizes[1:])]

    def whole_documents(self, texts: list[str]) -> np.ndarray:
        """One vector per text: the mean of all its token vectors (windowed like late chunking)."""
        return np.stack([whole(tv) for tv in self.token_vectors(texts)])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Texts encoded alone, truncated to ``max_length``, mean-pooled over all tokens including
        [CLS]/[SEP] exactly as sentence-transformers does; L2-normalised. Used for queries too."""
        tok, _ = self._load()
        for i, t in enumerate(texts):
            if not t.strip():
                raise RagcookError(f"text {i} is empty: drop empty chunks or queries before encoding")
        enc = tok(list(texts), truncation=True, max_length=self.max_length)
        hidden = self._run(enc["input_ids"])
        if not hidden:
            return np.zeros((0, self.dim), np.float32)
        return pool(np.concatenate(hidden), _cumulative_ranges([len(h) for h in hidden]))

    @property
    def dim(self) -> int:
        return int(self._load()[1].config.hidden_size)


def whole(tv: TokenVectors) -> np.ndarray:
    """A text's vector: the normalised mean of all its token vectors."""
    if len(tv.vectors) == 0:
        raise RagcookError("whole-document vector of an empty text: drop empty documents first")
    return pool(tv.vectors, [(0, len(tv.vectors))])[0]


def chunk_similarities(chunker: LateChunker, text: str, spans: list[Span], query: str, width: int = 70):
    """Cosine similarity of ``query`` to every chunk, embedded naively and late: a pandas frame
    with the chunk's opening words, to see which chunks context moves."""
    import pandas as pd

    q = chunker.encode([query])[0]
    naive = chunker.naive_chunks([text], [spans])[0] @ q
    late = chunker.late_chunks([text], [spans])[0] @ q
    rows = [
        {"chunk": text[s:e][:width] + ("…" if e - s > width else ""), "names it": names(query, text[s:e]),
         "naive": float(n), "late": float(l)}
        for (s, e), n, l in zip(spans, naive, late)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def _cumulative_ranges(lengths: list[int]) -> list[tuple[int, int]]:
    ends = np.cumsum(lengths)
    return [(int(e - n), int(e)) for n, e in zip(lengths, ends)]


# --------------------------------------------------------------------------- a simple chunker

_ABBREV = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "dr", "cf", "no", "fig", "approx", "al"}
_SENT_END = re.compile(r"[.!?]+[\"')\]]*\s+|[。！？；]+")
_PARA = re.compile(r"\n[ \t]*\n")


def sentence_spans(text: str) -> list[Span]:
    """Character spans of the sentences of ``text`` (stripped), never crossing a blank line.

    A rule-based splitter: ``. ! ?`` then whitespace (not after e.g./i.e./etc.) or Chinese
    ``。！？；``. Good enough for documentation prose; any other splitter's spans work as well.
    """
    spans: list[Span] = []
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


def _paragraph_spans(text: str) -> list[Span]:
    out, start = [], 0
    for m in _PARA.finditer(text):
        out.append((start, m.start()))
        start = m.end()
    out.append((start, len(text)))
    return out


def _add_stripped(text: str, start: int, end: int, spans: list[Span]) -> None:
    seg = text[start:end]
    if seg.strip():
        lead = len(seg) - len(seg.lstrip())
        spans.append((start + lead, start + len(seg.rstrip())))


def chunk_spans(text: str, max_chars: int = 300) -> list[Span]:
    """Sentences grouped greedily into chunks of at most ``max_chars`` characters, never across a
    paragraph break; a single longer sentence stays one chunk."""
    if max_chars < 1:
        raise RagcookError(f"max_chars must be >= 1, got {max_chars}")
    paras = _paragraph_spans(text)
    chunks: list[Span] = []
    cur: Span | None = None
    para_of = lambda pos: next(k for k, (a, b) in enumerate(paras) if a <= pos <= b)  # noqa: E731
    cur_para = -1
    for s, e in sentence_spans(text):
        p = para_of(s)
        if cur is not None and p == cur_para and e - cur[0] <= max_chars:
            cur = (cur[0], e)
        else:
            if cur is not None:
                chunks.append(cur)
            cur, cur_para = (s, e), p
    if cur is not None:
        chunks.append(cur)
    return chunks


# --------------------------------------------------------------------------- Python docs -> text

#: Object directives: their signature is kept (followed by a colon) and glued to their body.
_OBJECT_DIRECTIVES = {
    "function", "method", "class", "attribute", "data", "exception", "decorator", "classmethod",
    "staticmethod", "abstractmethod", "coroutinemethod", "coroutinefunction", "awaitablefunction",
    "awaitablemethod", "opcode", "cmdoption", "describe", "pdbcommand", "envvar",
}  # fmt: skip
#: Admonitions whose body is prose worth keeping; every other directive is dropped with its body.
_KEEP_BODY = {"note", "warning", "important", "caution", "impl-detail"}
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::\s*(.*)$")
_ADORN = re.compile(r"^([=\-~^\"'`#*+.:_])\1{2,}\s*$")
_GLUE, _HEAD = "\x00", "\x01"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_labels(rst: str) -> dict[str, str]:
    """``.. _label:`` targets placed right before a heading -> that heading's text (for ``:ref:``)."""
    lines = rst.splitlines()
    out = {}
    for i, line in enumerate(lines):
        m = re.match(r"^\.\. _([^:]+):\s*$", line)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and (
            not lines[j].strip() or lines[j].startswith(".. _") or _ADORN.match(lines[j].strip())
        ):
            j += 1
        if j + 1 < len(lines) and _ADORN.match(lines[j + 1].strip()):
            out[m.group(1).strip().lower()] = _inline(lines[j].strip())
    return out


def rst_to_text(rst: str, labels: dict[str, str] | None = None) -> str:
    """Readable prose from a Sphinx reStructuredText source: a heading is kept as a line glued to
    the paragraph under it; paragraphs are split by blank lines; code, doctests, tables, comments
    and most directives are removed; inline markup (``:func:`x```, ````x````, ``*x*``) is reduced
    to its text, and ``:ref:`label``` to the title of the section it names (``labels``, see
    :func:`rst_labels`; this file's own labels are always known)."""
    labels = {**rst_labels(rst), **(labels or {})}
    lines = rst.expandtabs(8).splitlines()
    out: list[str] = []
    i, n = 0, len(lines)

    def skip_block(j: int, base: int) -> int:  # skip lines indented deeper than ``base`` (or blank)
        while j < n and (not lines[j].strip() or _indent(lines[j]) > base):
            j += 1
        return j

    while i < n:
        line = lines[i]
        s = line.strip()
        if not s:
            out.append("")
            i += 1
            continue
        m = _DIRECTIVE.match(line)
        if m:
            base, name, arg = len(m.group(1)), m.group(2).split(":")[-1], m.group(3).strip()
            i += 1
            if name in _OBJECT_DIRECTIVES or name in _KEEP_BODY:
                sig = [arg] if arg else []
                while i < n and lines[i].strip() and _indent(lines[i]) > base and not lines[i].strip().startswith(":"):
                    if name not in _OBJECT_DIRECTIVES:
                        break
                    sig.append(lines[i].strip())  # continued signature lines
                    i += 1
                while i < n and lines[i].strip().startswith(":") and _indent(lines[i]) > base:
                    i += 1  # directive options
                if name in _OBJECT_DIRECTIVES and sig:
                    out += ["", " ".join(sig) + ":" + _GLUE]
                elif name in _KEEP_BODY and arg:
                    out += ["", arg]
                continue  # the indented body is read as ordinary lines
            i = skip_block(i, base)
            out.append("")
            continue
        if s.startswith(".."):  # comment or link target
            i = skip_block(i + 1, _indent(line))
            out.append("")
            continue
        if _ADORN.match(s) and (i + 1 >= n or not lines[i + 1].strip() or _ADORN.match(lines[i + 1].strip())):
            i += 1  # transition or overline
            continue
        if i + 1 < n and _ADORN.match(lines[i + 1].strip()) and len(lines[i + 1].strip()) >= len(s) - 1:
            out += ["", s + _HEAD, ""]  # heading
            i += 2
            continue
        if s.startswith(">>>") or s.startswith("+-") or s.startswith("|") or re.match(r"^=+(\s+=+)+$", s):
            j = i
            while j < n and lines[j].strip():
                j += 1
            i = j
            out.append("")
            continue
        if s.startswith("**Source code:**"):
            i += 1
            continue
        if s.endswith("::"):
            text = s[:-2].rstrip()
            if text:
                out.append(line[: _indent(line)] + text + ("" if s.endswith(" ::") else ":"))
            i = skip_block(i + 1, _indent(line))
            out.append("")  # the literal block ends the paragraph
            continue
        out.append(line)
        i += 1
    paras: list[str] = []
    glue = ""
    for block in re.split(r"\n\s*\n", "\n".join(out)):
        words = " ".join(x.strip() for x in block.splitlines() if x.strip())
        text = _inline(words.replace(_GLUE, "").replace(_HEAD, ""), labels).strip()
        if not text:
            continue
        if glue and paras:
            paras[-1] = paras[-1] + glue + text
        else:
            paras.append(text)
        glue = " " if words.endswith(_GLUE) else "\n" if words.endswith(_HEAD) else ""
    return "\n\n".join(paras)


def _inline(s: str, labels: dict[str, str] | None = None) -> str:
    s = re.sub(r":[\w:.-]+:`([^`<]*?)\s*<[^`>]*>`", r"\1", s)  # :ref:`text <target>`
    s = re.sub(  # :ref:`label` -> the section title, else the label in words
        r":ref:`([^`]+)`", lambda m: (labels or {}).get(m.group(1).lower(), re.sub(r"[-_]", " ", m.group(1))), s
    )
    s = re.sub(  # :func:`x`, :meth:`~a.b.c` -> c
        r":[\w:.-]+:`([!~]?)([^`]*)`", lambda m: m.group(2).split(".")[-1] if m.group(1) == "~" else m.group(2), s
    )
    s = re.sub(r"``([^`]+)``", r"\1", s)
    s = re.sub(r"`([^`<]*?)\s*<[^`>]*>`_{1,2}", r"\1", s)
    s = re.sub(r"`([^`]+)`_{0,2}", r"\1", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"\1", s)
    s = re.sub(  # *emphasis*, but not the "*" of a signature such as f(a, *, key=None)
        r"(?<![\w*])\*([^*\s,][^*]*?)\*(?![\w*])", lambda m: m.group(0) if ", " in m.group(1) else m.group(1), s
    )
    s = re.sub(r"\s*\[#\w*\]_", "", s)
    s = re.sub(r"\|(\w[\w -]*)\|", r"\1", s)
    s = s.replace("\\", "")
    return re.sub(r"\s+", " ", s)


_MODULE_TITLE = re.compile(r"^:mod:`!?([\w.]+)`\s*(?:---|--|—)\s*(.+)$")


def module_page(rst: str, max_chars: int = 3500, labels: dict[str, str] | None = None) -> dict | None:
    """``{"subject", "title", "text"}`` for a library page titled ``:mod:`name` --- what``, or None.

    The text starts with the title line ("heapq — Heap queue algorithm") and is cut at the last
    paragraph break before ``max_chars``.
    """
    first = next((ln.strip() for ln in rst.splitlines() if ln.strip() and not _ADORN.match(ln.strip())), "")
    m = _MODULE_TITLE.match(first)
    if not m:
        return None
    subject, what = m.group(1), _inline(m.group(2)).strip()
    body = rst_to_text(rst, labels).split("\n\n")
    rest = body[0].split("\n", 1)[1:]  # body[0] is the title (as rst_to_text renders it) + what follows
    paras = [f"{subject} — {what}"] + rest + body[1:]
    text = paras[0]
    for p in paras[1:]:
        if len(text) + 2 + len(p) > max_chars:
            break
        text += "\n\n" + p
    return {"subject": subject, "title": f"{subject} — {what}", "text": text}


def build_pydoc_modules(
    src: str | Path = "/usr/share/doc/python3.11/html/_sources",
    out: str | Path | None = None,
    n_docs: int = 60,
    max_chars: int = 3500,
    min_chars: int = 1200,
    seed: int = 0,
) -> list[dict]:
    """The shipped evaluation documents: ``n_docs`` standard-library module pages from the
    ``python3.11-doc`` sources (Debian: ``apt-get install python3.11-doc``), a seeded sample of the
    pages whose prose has at least ``min_chars`` characters, each cut to ``max_chars``. Writes a
    gzipped JSON-lines file when ``out`` is given."""
    root = Path(src) / "library"
    if not root.is_dir():
        raise DataError(f"{root}: no Python documentation sources here (apt-get install python3.11-doc)")
    labels: dict[str, str] = {}
    for path in sorted(Path(src).rglob("*.rst.txt")):
        labels.update(rst_labels(path.read_text(encoding="utf-8")))
    pages = []
    for path in sorted(root.glob("*.rst.txt")):
        page = module_page(path.read_text(encoding="utf-8"), max_chars=max_chars, labels=labels)
        if page and len(page["text"]) >= min_chars:
            pages.append({"id": page["subject"], "source": f"library/{path.name}", **page})
    rng = np.random.default_rng(seed)
    keep = sorted(rng.choice(len(pages), size=min(n_docs, len(pages)), replace=False))
    docs = [pages[k] for k in keep]
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode("utf-8")
        with open(out, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
            f.write(lines)  # mtime=0: the same sources give a byte-identical file
    return docs


#: The shipped excerpt (see data/late_chunking/README.md); found next to the package in a checkout.
PYDOC_FILE = Path(__file__).resolve().parents[1] / "data" / "late_chunking" / "pydoc_modules.jsonl.gz"


def load_pydoc_modules(path: str | Path | None = None) -> list[dict]:
    """The shipped module pages: dicts with ``id``, ``subject``, ``title``, ``source``, ``text``."""
    path = Path(path) if path else PYDOC_FILE
    if not path.is_file():
        raise DataError(
            f"{path}: missing; run ragcook.late_chunking.build_pydoc_modules(out=...) on a machine with python3.11-doc"
        )
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------- the evaluation


@dataclass
class ContextEval:
    """Chunks of documents, and queries that name each document's subject.

    Rule: the query of a document is its subject (the module name). Its relevant chunks are the
    chunks of that document that do not contain the subject as a word: they are about it but
    say "this module", "it", "the function". Chunks that do name it would be found by any method,
    so they are left out of that query's ranking (``ignore``), neither relevant nor wrong.
    """

    texts: dict[str, str]  # doc id -> text
    spans: dict[str, list[Span]]  # doc id -> chunk spans
    corpus: dict[str, str]  # chunk id -> chunk text
    queries: dict[str, str]  # query id -> subject
    qrels: dict[str, dict[str, int]]  # query id -> {relevant chunk id: 1}
    ignore: dict[str, set[str]]  # query id -> chunks that name the subject

    def chunk_ids(self, doc: str) -> list[str]:
        return [f"{doc}#{k:03d}" for k in range(len(self.spans[doc]))]


def names(subject: str, text: str) -> bool:
    """Whether ``text`` contains ``subject`` as a whole word, case-insensitive."""
    return re.search(rf"(?<![\w]){re.escape(subject)}(?![\w])", text, re.IGNORECASE) is not None


def context_eval(docs: list[dict], max_chars: int = 300) -> ContextEval:
    """Chunk every document (:func:`chunk_spans`) and build queries, qrels and ignores by the rule
    of :class:`ContextEval`. Documents with no relevant chunk get no query."""
    texts = {d["id"]: d["text"] for d in docs}
    spans = {d: chunk_spans(t, max_chars) for d, t in texts.items()}
    corpus, queries, qrels, ignore = {}, {}, {}, {}
    for d in docs:
        did, subject = d["id"], d["subject"]
        rel, ign = {}, set()
        for k, (s, e) in enumerate(spans[did]):
            cid = f"{did}#{k:03d}"
            corpus[cid] = texts[did][s:e]
            if names(subject, corpus[cid]):
                ign.add(cid)
            else:
                rel[cid] = 1
        if rel:
            qid = f"q-{did}"
            queries[qid], qrels[qid], ignore[qid] = subject, rel, ign
    return ContextEval(texts, spans, corpus, queries, qrels, ignore)


def embed_chunks(
    chunker: LateChunker, data: ContextEval, methods=("naive", "late", "whole-doc")
) -> dict[str, np.ndarray]:
    """method -> ``(n_chunks, dim)`` vectors in ``data.corpus`` order.

    ``whole-doc`` gives every chunk its document's vector (the mean of all its token vectors).
    """
    docs = list(data.texts)
    texts, spans = [data.texts[d] for d in docs], [data.spans[d] for d in docs]
    unknown = set(methods) - {"naive", "late", "whole-doc"}
    if unknown:
        raise RagcookError(f"unknown method(s) {sorted(unknown)}; use naive, late or whole-doc")
    out = {}
    if "naive" in methods:
        out["naive"] = np.concatenate(chunker.naive_chunks(texts, spans))
    if "late" in methods or "whole-doc" in methods:
        tvs = chunker.token_vectors(texts)  # one encoder pass serves both
        if "late" in methods:
            out["late"] = np.concatenate([chunker.pool_spans(tv, sp) for tv, sp in zip(tvs, spans)])
        if "whole-doc" in methods:
            out["whole-doc"] = np.concatenate(
                [np.repeat(whole(tv)[None], len(sp), axis=0) for tv, sp in zip(tvs, spans)]
            )
    return {m: out[m] for m in methods}


def rank_chunks(data: ContextEval, query_vecs: np.ndarray, chunk_vecs: np.ndarray, k: int = 100) -> dict:
    """A ``Run`` over chunk ids by cosine similarity, each query's ``ignore`` chunks left out."""
    ids = list(data.corpus)
    scores = query_vecs @ chunk_vecs.T
    run = {}
    for qi, q in enumerate(data.queries):
        order = np.argsort(-scores[qi], kind="stable")
        kept = [j for j in order if ids[j] not in data.ignore[q]][:k]
        run[q] = {ids[j]: float(scores[qi, j]) for j in kept}
    return run


def chunk_ranks(data: ContextEval, query_vecs: np.ndarray, chunk_vecs: np.ndarray, k: int = 10):
    """One row per relevant chunk: its query, its rank (1 = best) among all chunks for that query
    (ignored chunks left out) and ``top``, the chance that it is in the top ``k``. Tied chunks
    (whole-document vectors tie within a document) share the mean of their ranks, and ``top`` is
    then the chance under a random order of the tie. A pandas frame."""
    import pandas as pd

    ids = list(data.corpus)
    pos = {c: j for j, c in enumerate(ids)}
    scores = query_vecs @ chunk_vecs.T
    rows = []
    for qi, q in enumerate(data.queries):
        ign = np.array([c in data.ignore[q] for c in ids])
        s = np.where(ign, -np.inf, scores[qi])
        for c in data.qrels[q]:
            x = s[pos[c]]
            above, tied = int((s > x).sum()), int((s == x).sum())
            rows.append(
                {"query": q, "chunk": c, "rank": above + (tied + 1) / 2, "top": min(max((k - above) / tied, 0.0), 1.0)}
            )
    return pd.DataFrame(rows)


def by_distance(
    data: ContextEval,
    query_vecs: np.ndarray,
    vectors: dict[str, np.ndarray],
    distances: dict[str, int],
    bins=(0, 32, 64, 128, 256, 510, 10_000),
    k: int = 10,
    label: str = "tokens to the nearest mention",
):
    """Share of relevant chunks ranked in the top ``k`` of their query, by token distance to their
    subject (``distances``, e.g. from :func:`mention_distances`). Rows: distance bins, with the
    number of chunks; columns: methods."""
    import pandas as pd

    frames = []
    for m, v in vectors.items():
        r = chunk_ranks(data, query_vecs, v, k)
        r["method"] = m
        frames.append(r)
    fr = pd.concat(frames)
    fr[label] = pd.cut(fr.chunk.map(distances), list(bins), right=False)
    out = fr.pivot_table(index=label, columns="method", values="top", aggfunc="mean", observed=True)
    out.insert(0, "chunks", fr[fr.method == next(iter(vectors))].groupby(label, observed=True).size())
    return out[["chunks", *vectors]]


def mention_distances(chunker: LateChunker, data: ContextEval) -> dict[str, int]:
    """relevant chunk id -> tokens between the chunk and the nearest mention of its subject on its
    page (the title or any later sentence that names it), before or after the chunk."""
    tok = chunker.tokenizer
    subject = {q[2:]: text for q, text in data.queries.items()}  # query ids are "q-" + doc id
    out = {}
    for d, text in data.texts.items():
        if d not in subject:
            continue
        enc = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets = np.asarray(enc["offset_mapping"])
        pattern = rf"(?<![\w]){re.escape(subject[d])}(?![\w])"
        mentions = [token_span(offsets, m.span()) for m in re.finditer(pattern, text, re.IGNORECASE)]
        for cid, sp in zip(data.chunk_ids(d), data.spans[d]):
            if cid in data.qrels[f"q-{d}"]:
                i, j = token_span(offsets, sp)
                out[cid] = min(max(i - b + 1, a - j + 1, 0) for a, b in mentions)
    return out


def compare_methods(
    chunker: LateChunker,
    data: ContextEval,
    methods=("naive", "late", "whole-doc"),
    metrics=("ndcg@10", "recall@10", "mrr@10"),
):
    """Embed, rank and score each method on the same queries: ``(table, runs, vectors, query_vecs)``."""
    from ragcook.evaluate import compare

    vecs = embed_chunks(chunker, data, methods)
    qv = chunker.encode(list(data.queries.values()))
    runs = {m: rank_chunks(data, qv, v) for m, v in vecs.items()}
    return compare(runs, data.qrels, metrics), runs, vecs, qv


if __name__ == "__main__":  # rebuild the shipped file: python -m ragcook.late_chunking [SRC]
    import sys

    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/doc/python3.11/html/_sources"
    built = build_pydoc_modules(src, out=PYDOC_FILE)
    print(f"{PYDOC_FILE}: {len(built)} module pages, {sum(len(d['text']) for d in built):,} characters")
