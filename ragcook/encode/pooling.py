"""Sentence vectors from any Hugging Face encoder, with the pooling spelled out.

A BERT-style encoder returns one vector per token at every layer. A sentence vector is a
*pooling* of those: the ``[CLS]`` token's vector, the mean over the real tokens (padding
masked out), the element-wise max, or the same over another layer or an average of layers.
Which pooling works depends on how the model was trained: all-MiniLM-L6-v2 was fine-tuned
with mean pooling, so its ``[CLS]`` vector was never asked to mean anything.

Pooling names (:func:`parse_pooling`):

========================  ===================================================================
``cls``                   the ``[CLS]`` (first) token of the last layer
``mean``                  mean over tokens of the last layer (sentence-transformers' default)
``max``                   element-wise max over tokens of the last layer
``layer:N``               mean over tokens of layer N (0 = the embedding layer's output)
``last:K``                mean over tokens of the average of the last K layers
``first-last``            mean over tokens of the average of layer 1 and the last layer
``cls:N`` / ``max:N``     ``[CLS]`` / max over layer N
========================  ===================================================================

Every pooling comes out of the same forward pass (``output_hidden_states=True``), so
:func:`encode_poolings` computes any number of them for the price of one, and caches the
result on disk (:mod:`ragcook.cache`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
import torch

from ragcook import progress
from ragcook.cache import cached
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, fingerprint, load_tokenizer, load_transformer, resolve

#: sentence-transformers truncates all-MiniLM-L6-v2 inputs at 256 word pieces; so do we.
DEFAULT_MAX_LENGTH = 256


# --------------------------------------------------------------------------- pooling


@dataclass(frozen=True)
class Pooling:
    """How to turn per-token hidden states into one vector: ``method`` over the mean of ``layers``."""

    method: str  #: "cls", "mean" or "max"
    layers: tuple[int, ...] = (-1,)  #: indices into hidden_states (0 = embeddings, -1 = last layer)
    name: str = ""


def parse_pooling(spec: str | Pooling) -> Pooling:
    """``"mean"``, ``"cls"``, ``"max"``, ``"layer:3"``, ``"last:4"``, ``"first-last"``, ``"cls:2"`` -> :class:`Pooling`."""
    if isinstance(spec, Pooling):
        return spec
    s = str(spec).strip().lower()
    if s in ("cls", "mean", "max"):
        return Pooling(s, (-1,), s)
    if s == "first-last":
        return Pooling("mean", (1, -1), s)
    m = re.fullmatch(r"(layer|cls|mean|max|last):(-?\d+)", s)
    if m:
        kind, n = m.group(1), int(m.group(2))
        if kind == "last":
            if n < 1:
                raise RagcookError(f"pooling {spec!r}: last:K needs K >= 1")
            return Pooling("mean", tuple(range(-n, 0)), s)
        return Pooling("mean" if kind == "layer" else kind, (n,), s)
    raise RagcookError(f"unknown pooling {spec!r}; use cls, mean, max, layer:N, last:K, first-last, cls:N or max:N")


def check_layers(pooling: Pooling, n_states: int) -> None:
    """Raise if the pooling names a layer the model lacks (``n_states`` = layers + 1)."""
    for layer in pooling.layers:
        if not -n_states <= layer < n_states:
            raise RagcookError(f"pooling {pooling.name!r}: layer {layer} does not exist (the model has layers 0..{n_states - 1})")


def pool(hidden_states: tuple[torch.Tensor, ...], attention_mask: torch.Tensor, pooling: str | Pooling) -> torch.Tensor:
    """One vector per sequence, ``(batch, dim)``, from a model's ``hidden_states`` tuple."""
    p = parse_pooling(pooling)
    check_layers(p, len(hidden_states))
    h = hidden_states[p.layers[0]] if len(p.layers) == 1 else torch.stack([hidden_states[i] for i in p.layers]).mean(0)
    if p.method == "cls":
        return h[:, 0]
    mask = attention_mask.unsqueeze(-1).to(h.dtype)
    if p.method == "mean":
        return (h * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    if p.method == "max":
        return h.masked_fill(mask == 0, torch.finfo(h.dtype).min).max(1).values
    raise RagcookError(f"pooling method {p.method!r}: use cls, mean or max")


# --------------------------------------------------------------------------- encoding


@dataclass
class Encoder:
    """A tokenizer and a transformers model in eval mode, with a cache key for its files."""

    tokenizer: object
    model: torch.nn.Module
    path: str
    key: str

    @property
    def n_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)


def load_encoder(model: str | os.PathLike | Encoder = DEFAULT_MODEL) -> Encoder:
    """A bundled model name (``minilm``) or a Hugging Face folder -> :class:`Encoder` (loaded once)."""
    if isinstance(model, Encoder):
        return model
    path = resolve(model)
    return Encoder(load_tokenizer(path), load_transformer(path), str(path), fingerprint(path))


def _forward(
    enc: Encoder,
    texts: list[str],
    poolings: list[Pooling],
    batch_size: int,
    max_length: int,
    show_progress: bool | None,
    desc: str,
) -> np.ndarray:
    """Raw (unnormalised) vectors, shape ``(len(texts), len(poolings), dim)``, from one pass."""
    # Longest texts first, as sentence-transformers does: batches of similar length pad less.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out: np.ndarray | None = None
    bar = progress.bar(total=len(texts), desc=desc, show=show_progress)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = enc.tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            hs = enc.model(**batch, output_hidden_states=True).hidden_states
            vecs = torch.stack([pool(hs, batch["attention_mask"], p) for p in poolings], 1).float().numpy()
            if out is None:
                out = np.empty((len(texts), len(poolings), vecs.shape[-1]), dtype=np.float32)
            out[idx] = vecs
            bar.update(len(idx))
    bar.close()
    return out


def normalize(vecs: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, so that dot products are cosines."""
    return vecs / np.clip(np.linalg.norm(vecs, axis=-1, keepdims=True), 1e-12, None)


def encode_poolings(
    texts: list[str],
    poolings: list[str] = ("cls", "mean"),
    model: str | os.PathLike | Encoder = DEFAULT_MODEL,
    batch_size: int = 32,
    max_length: int = DEFAULT_MAX_LENGTH,
    normalized: bool = True,
    show_progress: bool | None = None,
    cache: bool = True,
) -> dict[str, np.ndarray]:
    """Several poolings from one forward pass: ``{pooling name: (len(texts), dim) array}``.

    Raw vectors are cached on disk, keyed by the model's files, ``max_length``, the poolings
    and the texts. ``normalized=True`` returns unit-length rows (dot product = cosine).
    """
    if isinstance(texts, str):
        raise RagcookError("encode: pass a list of texts, not one string")
    texts = list(texts)
    if not texts:
        raise RagcookError("encode: no texts to encode")
    specs = [parse_pooling(p) for p in poolings]
    if not specs:
        raise RagcookError("encode: name at least one pooling")
    enc = load_encoder(model)
    for p in specs:  # fail before the (long) forward pass, not after it
        check_layers(p, enc.n_layers + 1)
    names = [p.name or f"{p.method}@{p.layers}" for p in specs]
    desc = f"encode {len(texts)} texts"

    def compute(ts: list[str]) -> np.ndarray:
        return _forward(enc, ts, specs, batch_size, max_length, show_progress, desc)

    if cache:
        key = f"poolings|{enc.key}|{max_length}|{';'.join(f'{p.method}{p.layers}' for p in specs)}"
        raw = cached(key, texts, compute)
    else:
        raw = compute(texts)
    return {n: normalize(raw[:, i]) if normalized else raw[:, i].copy() for i, n in enumerate(names)}


def encode(
    texts: list[str],
    model: str | os.PathLike | Encoder = DEFAULT_MODEL,
    pooling: str = "mean",
    batch_size: int = 32,
    max_length: int = DEFAULT_MAX_LENGTH,
    normalized: bool = True,
    show_progress: bool | None = None,
    cache: bool = True,
) -> np.ndarray:
    """``(len(texts), dim)`` sentence vectors with one pooling (see the module docstring)."""
    vecs = encode_poolings(texts, [pooling], model, batch_size, max_length, normalized, show_progress, cache)
    return next(iter(vecs.values()))


# --------------------------------------------------------------------------- token vectors in context


def _find(text: str, word: str) -> tuple[int, int]:
    # Whole-word match for alphabetic words ("bank" not in "banking"); plain match for Chinese.
    pat = rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])" if word.isascii() else re.escape(word)
    m = re.search(pat, text, flags=re.IGNORECASE)
    if not m:
        raise RagcookError(f"word {word!r} does not occur in {text!r}")
    return m.span()


def word_vectors(
    texts: list[str], word: str, model: str | os.PathLike | Encoder = DEFAULT_MODEL, layers: list[int] | None = None
) -> np.ndarray:
    """The vector of ``word`` (mean of its word pieces) inside each text, at each layer.

    Returns ``(len(layers), len(texts), dim)``; ``layers`` defaults to every layer, 0 (the
    embedding layer) to the last. The word's first occurrence in each text is used.
    """
    enc = load_encoder(model)
    layers = list(range(enc.n_layers + 1)) if layers is None else list(layers)
    out = []
    with torch.inference_mode():
        for text in texts:
            start, end = _find(text, word)
            batch = enc.tokenizer(
                text, return_offsets_mapping=True, truncation=True, max_length=DEFAULT_MAX_LENGTH, return_tensors="pt"
            )
            offsets = batch.pop("offset_mapping")[0]
            # Word pieces overlapping the word's characters (special tokens have empty spans).
            sel = [i for i, (a, b) in enumerate(offsets.tolist()) if b > a and a < end and b > start]
            if not sel:
                raise RagcookError(f"word {word!r} was cut off by truncation in {text[:40]!r}...")
            hs = enc.model(**batch, output_hidden_states=True).hidden_states
            out.append(torch.stack([hs[layer][0, sel].mean(0) for layer in layers]))
    return torch.stack(out, 1).float().numpy()


def cosine_matrix(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """All cosines between the rows of ``a`` and of ``b`` (``a`` with itself if ``b`` is None)."""
    a = normalize(np.asarray(a, dtype=np.float32))
    b = a if b is None else normalize(np.asarray(b, dtype=np.float32))
    return a @ b.T
