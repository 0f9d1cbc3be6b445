"""Learned sparse retrieval: SPLADE, a BGE-M3-style sparse head, and dense + sparse hybrids.

BM25 weighs the words a text contains by counting. A learned sparse model weighs them with a
neural network instead, and keeps the inverted-index form: one weight per vocabulary entry,
almost all of them zero. Two kinds are here:

- :class:`SpladeEncoder` (SPLADE): the masked-LM head scores every word piece of the vocabulary
  at every position; ``log(1 + relu(logit))`` max-pooled over positions gives the weights. Words
  the text does *not* contain get weight too ("expansion": *paris* -> *france*, *capital*).
- :class:`M3Encoder` (the BGE-M3 recipe): a linear layer + ReLU over the token states of a
  bi-encoder gives one weight per token of the text (no expansion; a repeated token keeps its
  largest weight). The same forward pass also gives the dense vector, so one model yields both.
  :func:`train_sparse_head` trains that layer on InsuranceQA train with an in-batch contrastive
  loss on the sparse dot product and a FLOPS sparsity penalty.

Weights travel as ``scipy.sparse.csr_matrix`` rows (text x vocabulary); :func:`to_records` gives
the ``{"indices": [...], "values": [...]}`` form a vector database stores. Retrieval with these
weights is :mod:`ragcook.retrieve.sparse`; the head's training is :mod:`ragcook.encode.sparse_head`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ragcook.cache import cached
from ragcook.encode.sparse_head import HeadConfig, SparseHead, load_sparse_head, token_outputs
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, fingerprint, load_sentence_transformer, load_tokenizer, load_transformer, resolve

SparseRecord = dict  # {"indices": list[int], "values": list[float]}


# --------------------------------------------------------------------------- sparse vectors


def to_records(matrix: sp.spmatrix) -> list[SparseRecord]:
    """One ``{"indices": [...], "values": [...]}`` per row: token ids and their weights."""
    m = sp.csr_matrix(matrix)
    return [
        {
            "indices": m.indices[m.indptr[i] : m.indptr[i + 1]].tolist(),
            "values": m.data[m.indptr[i] : m.indptr[i + 1]].tolist(),
        }
        for i in range(m.shape[0])
    ]


def from_records(records: list[SparseRecord], dim: int) -> sp.csr_matrix:
    """The inverse of :func:`to_records`; a repeated index keeps its largest value."""
    rows = [max_row(np.asarray(r["indices"], dtype=np.int64), np.asarray(r["values"], dtype=np.float32)) for r in records]
    return stack_rows(rows, dim)


def max_row(ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse repeated token ids to their maximum weight and drop zeros."""
    keep = weights > 0
    ids, weights = ids[keep], weights[keep]
    if ids.size == 0:
        return ids.astype(np.int32), weights.astype(np.float32)
    uniq, inv = np.unique(ids, return_inverse=True)
    out = np.zeros(len(uniq), dtype=np.float32)
    np.maximum.at(out, inv, weights.astype(np.float32))
    return uniq.astype(np.int32), out


def stack_rows(rows: list[tuple[np.ndarray, np.ndarray]], dim: int) -> sp.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(i) for i, _ in rows])
    indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int32)
    data = np.concatenate([w for _, w in rows]) if rows else np.zeros(0, np.float32)
    return sp.csr_matrix((data.astype(np.float32), indices.astype(np.int32), indptr), shape=(len(rows), dim))


def avg_nonzeros(matrix: sp.spmatrix) -> float:
    """Average number of non-zero weights per row: the size of a posting-list index per document."""
    return float(matrix.nnz / max(matrix.shape[0], 1))


def decode(row: sp.spmatrix | SparseRecord, tokenizer, top: int = 20) -> list[tuple[str, float]]:
    """The ``top`` heaviest (token, weight) pairs of one sparse vector, for reading."""
    if isinstance(row, dict):
        ids, w = np.asarray(row["indices"]), np.asarray(row["values"])
    else:
        r = sp.csr_matrix(row)
        ids, w = r.indices, r.data
    heaviest = sorted(zip(ids.tolist(), w.tolist()), key=lambda x: -x[1])[:top]
    return [
        (t, round(float(x), 3)) for t, (_, x) in zip(tokenizer.convert_ids_to_tokens([int(i) for i, _ in heaviest]), heaviest)
    ]


def explain(encoder, text: str, top: int = 15):
    """A table of the ``top`` heaviest tokens of ``text``: weight, and whether the text contains it.

    Tokens the text does not contain are SPLADE's expansion terms; a BGE-M3-style head has none.
    """
    import pandas as pd

    out = encoder.encode([text])
    row = out[1] if isinstance(out, tuple) else out
    own = set(encoder.tokenizer(text)["input_ids"])
    tok = encoder.tokenizer
    return pd.DataFrame(
        [{"token": t, "weight": w, "in text": tok.convert_tokens_to_ids(t) in own} for t, w in decode(row, tok, top)]
    )


# --------------------------------------------------------------------------- SPLADE


class SpladeEncoder:
    """SPLADE weights from a masked-LM checkpoint (default: the bundled SPLADE-tiny).

    ``w[v] = max over positions of log(1 + relu(logit[position, v]))``. Because log1p∘relu is
    monotone, the max is taken over the raw logits first and the activation applied once per
    vocabulary entry, which is the same number and much cheaper on a CPU. The result equals
    ``sentence_transformers.SparseEncoder(path).encode(...)``.
    """

    def __init__(self, model: str = "splade-tiny", max_length: int = 256, batch_size: int = 32):
        self.model_path = str(model)
        self.max_length, self.batch_size = max_length, batch_size
        self._model = self._tokenizer = None

    def _load(self):
        if self._model is None:
            path = resolve(self.model_path)
            self._tokenizer = load_tokenizer(path)
            model = load_transformer(path, head="mlm")
            if not hasattr(model, "cls") or not hasattr(model, "bert"):
                raise RagcookError(f"{path}: SpladeEncoder expects a BertForMaskedLM checkpoint (SPLADE)")
            self._model = model
        return self._model

    @property
    def tokenizer(self):
        self._load()
        return self._tokenizer

    @property
    def vocab_size(self) -> int:
        return int(self._load().config.vocab_size)

    def encode(self, texts: list[str]) -> sp.csr_matrix:
        """One sparse row per text (text x vocabulary), cached on disk for large lists."""
        key = f"splade|{fingerprint(self.model_path)}|{self.max_length}"
        return cached(key, list(texts), lambda t: (None, self._encode(t)))[1]

    def _encode(self, texts: list[str]) -> sp.csr_matrix:
        model = self._load()
        head = model.cls.predictions
        weight, bias = head.decoder.weight, head.decoder.bias if head.decoder.bias is not None else head.bias
        rows: list = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # longest first: less padding
        with torch.inference_mode():
            for s in range(0, len(texts), self.batch_size):
                idx = order[s : s + self.batch_size]
                batch = self._tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
                )
                states = head.transform(model.bert(**batch).last_hidden_state)
                for j, n in enumerate(batch["attention_mask"].sum(1).tolist()):
                    logits = torch.addmm(bias, states[j, :n], weight.T).amax(0)
                    w = torch.log1p(torch.relu(logits))
                    nz = torch.nonzero(w).squeeze(1)
                    rows[idx[j]] = (nz.numpy().astype(np.int32), w[nz].numpy().astype(np.float32))
        return stack_rows(rows, self.vocab_size)


def mlm_logits(texts: list[str], model: str = "splade-tiny", max_length: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """The masked-LM head's scores of every word piece at every position, and the attention mask.

    Shapes ``(texts, positions, vocabulary)`` and ``(texts, positions)``. BERT was pre-trained to
    predict a hidden word from these scores; SPLADE reads the same scores as term weights.
    """
    tok, mlm = load_tokenizer(model), load_transformer(model, head="mlm")
    batch = tok(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    with torch.inference_mode():
        return mlm(**batch).logits, batch["attention_mask"]


def fill_mask(text: str, model: str = "splade-tiny", top: int = 5) -> list[list[tuple[str, float]]]:
    """For each ``[MASK]`` of ``text``, the ``top`` word pieces the MLM head predicts, with their probabilities."""
    tok = load_tokenizer(model)
    logits, _ = mlm_logits([text], model)
    ids = tok(text, truncation=True, max_length=256)["input_ids"]
    out = []
    for pos in [i for i, t in enumerate(ids) if t == tok.mask_token_id]:
        probs = torch.softmax(logits[0, pos], dim=-1)
        p, idx = probs.topk(top)
        out.append(list(zip(tok.convert_ids_to_tokens(idx.tolist()), [round(float(x), 4) for x in p])))
    return out


class M3Encoder:
    """One bi-encoder, two outputs per forward pass: the dense vector and BGE-M3-style sparse weights.

    ``head`` maps token states to weights; ``None`` loads (or trains, once) the cached head of
    ``model`` with :func:`load_sparse_head`. Works with any sentence-transformers / Hugging Face
    folder; with BGE-M3 on disk: ``M3Encoder(folder, head=SparseHead.from_bge_m3(folder))``.
    The sparse weights follow FlagEmbedding's BGE-M3 code: ``relu(linear(state))`` per token, the
    max over repeated ids, special tokens dropped.
    """

    def __init__(self, model: str = DEFAULT_MODEL, head: SparseHead | None = None, config: HeadConfig | None = None):
        self.model_path = str(model)
        self.config = config or HeadConfig()
        self._head = head
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = load_sentence_transformer(self.model_path)
        return self._model

    @property
    def tokenizer(self):
        return self.model.tokenizer

    @property
    def head(self) -> SparseHead:
        if self._head is None:
            self._head = load_sparse_head(self.model_path, self.config, st_model=self.model)
        return self._head

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode(self, texts: list[str]) -> tuple[np.ndarray, sp.csr_matrix]:
        """(normalised dense vectors, sparse weights), one row per text, cached on disk."""
        head = self.head
        key = f"m3|{fingerprint(self.model_path)}|{head.fingerprint()}|{self.model.max_seq_length}"

        def compute(batch: list[str]):
            dense, rows = [], []
            with torch.inference_mode():
                for vec, ids, states in token_outputs(self.model, batch, None, set(self.tokenizer.all_special_ids)):
                    dense.append(vec)
                    rows.append(max_row(ids.astype(np.int64), head(states).numpy()))
            return np.stack(dense).astype(np.float32), stack_rows(rows, self.vocab_size)

        return cached(key, list(texts), compute)
