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
all-MiniLM-L6-v2, fine-tuned on 128-token inputs, the gain fades well before; see notebook 12).

This module is the algorithm alone. Notebook 12's evaluation (queries that name a module,
chunks that say "this module") is :mod:`ragcook.eval.late_chunking`; its documents are
:mod:`ragcook.data.pydoc`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, load_tokenizer, load_transformer, resolve

Span = tuple[int, int]

#: all-MiniLM-L6-v2 has 512 position embeddings (sentence-transformers truncates at 256 by
#: default, and the model was fine-tuned on 128-token inputs). Late chunking needs context,
#: so the default window uses every position the model has; notebook 12 compares 256.
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
        raise RagcookError(f"chunk span {span} covers no token (empty or whitespace only): drop such chunks before embedding")
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


def mean_pool(vectors: np.ndarray, spans: list[tuple[int, int]], normalize: bool = True) -> np.ndarray:
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

            self._tok = load_tokenizer(self.model_path)
            self._model = load_transformer(self.model_path).to(self.device)
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
        return mean_pool(tv.vectors, token_spans(tv.offsets, spans))

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
        return mean_pool(np.concatenate(hidden), _cumulative_ranges([len(h) for h in hidden]))

    @property
    def dim(self) -> int:
        return int(self._load()[1].config.hidden_size)


def whole(tv: TokenVectors) -> np.ndarray:
    """A text's vector: the normalised mean of all its token vectors."""
    if len(tv.vectors) == 0:
        raise RagcookError("whole-document vector of an empty text: drop empty documents first")
    return mean_pool(tv.vectors, [(0, len(tv.vectors))])[0]


def _cumulative_ranges(lengths: list[int]) -> list[tuple[int, int]]:
    ends = np.cumsum(lengths)
    return [(int(e - n), int(e)) for n, e in zip(lengths, ends)]
