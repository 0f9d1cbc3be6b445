"""Multi-vector encoding: one unit vector per token, as ColBERT and BGE-M3's third mode keep them.

A bi-encoder pools a text's token states into one vector. A *late-interaction* model keeps
them all (usually after a small linear projection, 384 -> 128 dimensions here) and compares a
query with a document token by token at search time (:mod:`ragcook.retrieve.multivector`).
The model is sentence-transformers' :class:`~sentence_transformers.MultiVectorEncoder`:

- :func:`load_multivector` with a trained folder (:mod:`ragcook.train.multivector` makes one)
  loads it as saved: transformer, projection, scoring mask, token-level normalisation;
- with a plain bi-encoder (``"minilm"``) and ``project=False`` it builds the *untrained*
  baseline: the encoder's own 384-d token states, normalised, no projection.

A text gives a different number of vectors than the next one, so many texts are held as one flat
(tokens x dim) matrix plus the offsets where each text starts (:class:`TokenVectors`), which is
also how :func:`ragcook.cache.cached` stores them on disk.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ragcook.cache import cached
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, _quiet_loading, fingerprint, resolve


@dataclass
class TokenVectors:
    """The token vectors of many texts: one flat (tokens x dim) float32 matrix and each text's start."""

    vectors: np.ndarray  # (total tokens, dim)
    offsets: np.ndarray  # (n texts + 1,): text i owns rows offsets[i]:offsets[i + 1]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return self.vectors[self.offsets[i] : self.offsets[i + 1]]

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def n_vectors(self) -> int:
        """How many vectors the index stores (one per kept token)."""
        return int(self.vectors.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes of the vectors at float32: the size of an uncompressed multi-vector index."""
        return int(self.vectors.shape[0] * self.vectors.shape[1] * 4)

    def lengths(self) -> np.ndarray:
        """Vectors per text."""
        return np.diff(self.offsets)

    def take(self, idx) -> TokenVectors:
        """The token vectors of texts ``idx``, in that order."""
        return from_list([self[int(i)] for i in idx], self.dim)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"vectors": self.vectors, "offsets": self.offsets}


def from_list(matrices: list[np.ndarray], dim: int | None = None) -> TokenVectors:
    """Stack per-text (tokens x dim) matrices into one :class:`TokenVectors`."""
    if not matrices:
        if dim is None:
            raise RagcookError("from_list: no matrices and no dim")
        return TokenVectors(np.zeros((0, dim), np.float32), np.zeros(1, np.int64))
    offsets = np.zeros(len(matrices) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(m) for m in matrices])
    return TokenVectors(np.concatenate([np.asarray(m, np.float32) for m in matrices]), offsets)


def is_multivector_folder(path: str | os.PathLike) -> bool:
    """True for a folder saved by a :class:`~sentence_transformers.MultiVectorEncoder`."""
    cfg = Path(path) / "config_sentence_transformers.json"
    return cfg.is_file() and '"MultiVectorEncoder"' in cfg.read_text(encoding="utf-8")


def load_multivector(model: str | os.PathLike = DEFAULT_MODEL, project: bool = True, dim: int = 128, seed: int = 13):
    """A :class:`~sentence_transformers.MultiVectorEncoder` on the CPU, offline.

    A folder saved by one loads as it is. A bi-encoder becomes one: with ``project=False`` its raw
    token states, normalised (the untrained baseline); with ``project=True`` the library's
    conversion, a projection to ``dim`` initialised at random from ``seed`` (train it before use).
    """
    import torch
    from sentence_transformers import MultiVectorEncoder
    from sentence_transformers.base.modules import Dense, Normalize, Transformer
    from sentence_transformers.multi_vector_encoder.modules import MultiVectorMask

    path = str(resolve(model))
    with _quiet_loading():
        if is_multivector_folder(path):
            return MultiVectorEncoder(path, device="cpu", local_files_only=True)
        word = Transformer(path)
        modules = [word]
        if project:
            torch.manual_seed(seed)
            hidden = word.get_embedding_dimension()
            modules.append(
                Dense(hidden, dim, bias=False, activation_function=torch.nn.Identity(), module_input_name="token_embeddings")
            )
        modules += [MultiVectorMask(), Normalize(module_input_name="token_embeddings")]
        return MultiVectorEncoder(modules=modules, device="cpu")


class MultiVectorModel:
    """Token vectors of queries and documents from a :class:`~sentence_transformers.MultiVectorEncoder`, cached.

    ``model`` is a trained multi-vector folder, or a bi-encoder whose raw token states are used
    (``project=False``). ``document_length`` caps a document's tokens (the bi-encoder's 256 by default).
    """

    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL, document_length: int | None = None, batch_size: int = 32):
        self.model_path = str(model)
        self.document_length, self.batch_size = document_length, batch_size
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = load_multivector(self.model_path, project=False)
            if self.document_length:
                self._model[0].document_length = self.document_length
        return self._model

    @property
    def tokenizer(self):
        return self.model.tokenizer

    def _encode(self, texts: list[str], task: str) -> TokenVectors:
        key = f"multivector|{task}|{fingerprint(self.model_path)}|{self.document_length}"

        def compute(batch: list[str]) -> dict[str, np.ndarray]:
            run = self.model.encode_query if task == "query" else self.model.encode_document
            mats = run(batch, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
            return from_list(list(mats), self.model.get_embedding_dimension()).to_arrays()

        arrays = cached(key, list(texts), compute)
        return TokenVectors(arrays["vectors"], arrays["offsets"])

    def encode_queries(self, texts: list[str]) -> TokenVectors:
        """One unit vector per query token (cached for long lists)."""
        return self._encode(texts, "query")

    def encode_documents(self, texts: list[str]) -> TokenVectors:
        """One unit vector per document token (cached for long lists)."""
        return self._encode(texts, "document")

    def tokens(self, text: str, task: str = "document") -> list[str]:
        """The word pieces of ``text`` that get a vector, in order (``[CLS]`` and ``[SEP]`` included)."""
        feats = self.model.preprocess([text], task=task)
        ids = feats["input_ids"][0][feats["attention_mask"][0].bool()]
        return self.tokenizer.convert_ids_to_tokens(ids.tolist())
