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
the ``{"indices": [...], "values": [...]}`` form a vector database stores. :class:`SparseRetriever`
ranks by the sparse dot product, :class:`DenseSparse` fuses the dense and sparse runs of one encoder.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import scipy.sparse as sp
import torch

from ragcook.cache import cache_dir, texts_key
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, fingerprint, load_sentence_transformer, resolve
from ragcook.retrieve import Run, rrf, top_k, weighted_fusion

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
    rows = [_max_row(np.asarray(r["indices"], dtype=np.int64), np.asarray(r["values"], dtype=np.float32)) for r in records]
    return _stack(rows, dim)


def _max_row(ids: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse repeated token ids to their maximum weight and drop zeros."""
    keep = weights > 0
    ids, weights = ids[keep], weights[keep]
    if ids.size == 0:
        return ids.astype(np.int32), weights.astype(np.float32)
    uniq, inv = np.unique(ids, return_inverse=True)
    out = np.zeros(len(uniq), dtype=np.float32)
    np.maximum.at(out, inv, weights.astype(np.float32))
    return uniq.astype(np.int32), out


def _stack(rows: list[tuple[np.ndarray, np.ndarray]], dim: int) -> sp.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(i) for i, _ in rows])
    indices = np.concatenate([i for i, _ in rows]) if rows else np.zeros(0, np.int32)
    data = np.concatenate([w for _, w in rows]) if rows else np.zeros(0, np.float32)
    return sp.csr_matrix((data.astype(np.float32), indices.astype(np.int32), indptr), shape=(len(rows), dim))


def avg_nonzeros(matrix: sp.spmatrix) -> float:
    """Average number of non-zero weights per row: the size of a posting-list index per document."""
    return float(matrix.nnz / max(matrix.shape[0], 1))


def prune(matrix: sp.spmatrix, top_n: int | None) -> sp.csr_matrix:
    """Keep the ``top_n`` largest weights of every row (``None`` keeps all)."""
    m = sp.csr_matrix(matrix, copy=True)
    if top_n is None:
        return m
    if top_n < 1:
        raise RagcookError(f"prune: top_n must be at least 1, got {top_n}")
    rows = []
    for i in range(m.shape[0]):
        ids, w = m.indices[m.indptr[i] : m.indptr[i + 1]], m.data[m.indptr[i] : m.indptr[i + 1]]
        if len(w) > top_n:
            sel = np.sort(np.argsort(-w, kind="stable")[:top_n])
            ids, w = ids[sel], w[sel]
        rows.append((ids, w))
    return _stack(rows, m.shape[1])


def decode(row: sp.spmatrix | SparseRecord, tokenizer, top: int = 20) -> list[tuple[str, float]]:
    """The ``top`` heaviest (token, weight) pairs of one sparse vector, for reading."""
    if isinstance(row, dict):
        ids, w = np.asarray(row["indices"]), np.asarray(row["values"])
    else:
        r = sp.csr_matrix(row)
        ids, w = r.indices, r.data
    order = np.argsort(-w, kind="stable")[:top]
    return list(zip(tokenizer.convert_ids_to_tokens([int(i) for i in ids[order]]), [round(float(x), 3) for x in w[order]]))


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


def bm25_nonzeros(texts: list[str], lang: str = "en") -> float:
    """Average distinct terms per text after BM25's tokenizer (stop words out, stemmed): its index size."""
    from ragcook.retrieve import _bm25_tokens

    stemmer = None
    if lang == "en":
        import Stemmer

        stemmer = Stemmer.Stemmer("english")
    toks = _bm25_tokens(list(texts), lang, stemmer)
    return float(np.mean([len(set(t)) for t in toks])) if toks else 0.0


# --------------------------------------------------------------------------- on-disk cache


def _cached(key: str, texts: list[str], compute, min_size: int = 32):
    """``compute(texts) -> (dense | None, csr)``, read from / written to ``cache_dir()``."""
    if len(texts) < min_size or os.environ.get("RAGCOOK_NO_CACHE"):
        return compute(texts)
    name = hashlib.sha256(f"{key}|{texts_key(texts)}".encode()).hexdigest()[:32]
    path = cache_dir() / f"sparse-{name}.npz"
    if path.is_file():
        z = np.load(path)
        m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        return (z["dense"] if "dense" in z else None), m
    dense, m = compute(texts)
    extra = {"dense": dense} if dense is not None else {}
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.array(m.shape), **extra)
    os.replace(tmp, path)
    return dense, m


def _length_order(texts: list[str]) -> np.ndarray:
    return np.argsort([-len(t) for t in texts], kind="stable")


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
            from transformers import AutoModelForMaskedLM, AutoTokenizer

            path = resolve(self.model_path)
            self._tokenizer = AutoTokenizer.from_pretrained(str(path))
            model = AutoModelForMaskedLM.from_pretrained(str(path))
            if not hasattr(model, "cls") or not hasattr(model, "bert"):
                raise RagcookError(f"{path}: SpladeEncoder expects a BertForMaskedLM checkpoint (SPLADE)")
            self._model = model.eval()
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
        return _cached(key, list(texts), lambda t: (None, self._encode(t)))[1]

    def _encode(self, texts: list[str]) -> sp.csr_matrix:
        model = self._load()
        head = model.cls.predictions
        weight, bias = head.decoder.weight, head.decoder.bias if head.decoder.bias is not None else head.bias
        rows: list = [None] * len(texts)
        order = _length_order(texts)
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
        return _stack(rows, self.vocab_size)


# --------------------------------------------------------------------------- BGE-M3-style head


@dataclass
class HeadConfig:
    """How :func:`train_sparse_head` trains the sparse head.

    The defaults were chosen on the InsuranceQA validation split; training itself takes a second,
    running the frozen encoder over the 2 x ``n_pairs`` training texts takes the rest.
    """

    n_pairs: int = 1000  # (query, positive answer) pairs from InsuranceQA train (small profile)
    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-3
    temperature: float = 1.0
    flops_weight: float = 1e-3  # FLOPS regulariser (SPLADE): sum over vocab of (mean weight)^2
    max_length: int = 128  # passage tokens seen in training
    seed: int = 13


class SparseHead(torch.nn.Module):
    """``relu(Linear(hidden -> 1))`` over token states: one weight per token (BGE-M3's sparse head)."""

    def __init__(self, hidden: int):
        nn = torch.nn
        super().__init__()
        self.linear = nn.Linear(hidden, 1)
        # Start as "every token weighs 1" (bag-of-words overlap) and learn from there.
        nn.init.zeros_(self.linear.weight)
        nn.init.constant_(self.linear.bias, 1.0)

    def forward(self, states):
        return torch.relu(self.linear(states)).squeeze(-1)

    @classmethod
    def from_bge_m3(cls, folder: str | os.PathLike) -> "SparseHead":
        """BGE-M3's own trained head: the ``sparse_linear.pt`` file FlagEmbedding saves next to the model."""
        path = Path(folder) / "sparse_linear.pt"
        if not path.is_file():
            raise RagcookError(f"{path}: not found (a BGE-M3 folder keeps its sparse head in sparse_linear.pt)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        head = cls(state["weight"].shape[1])
        head.linear.load_state_dict({k: v.float() for k, v in state.items()})
        return head.eval()

    def fingerprint(self) -> str:
        buf = io.BytesIO()
        for t in self.state_dict().values():
            buf.write(t.detach().cpu().numpy().tobytes())
        return hashlib.sha256(buf.getvalue()).hexdigest()[:16]


def _token_outputs(model, texts: list[str], max_length: int | None, special: set[int], chunk: int = 256):
    """Yield (dense vector, token ids, token states) per text, special tokens dropped, in order."""
    old = model.max_seq_length
    if max_length:
        model.max_seq_length = max_length
    try:
        for s in range(0, len(texts), chunk):
            outs = model.encode(texts[s : s + chunk], output_value=None, batch_size=32, show_progress_bar=False)
            for o in outs:
                mask = o["attention_mask"].bool()
                ids = o["input_ids"][mask]
                states = o["token_embeddings"][mask]
                keep = ~np.isin(ids.numpy(), list(special))
                yield o["sentence_embedding"].float().numpy(), ids.numpy()[keep], states[keep].float()
    finally:
        model.max_seq_length = old


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
                for vec, ids, states in _token_outputs(self.model, batch, None, set(self.tokenizer.all_special_ids)):
                    dense.append(vec)
                    rows.append(_max_row(ids.astype(np.int64), head(states).numpy()))
            return np.stack(dense).astype(np.float32), _stack(rows, self.vocab_size)

        return _cached(key, list(texts), compute)


def sparse_head_dir(model: str = DEFAULT_MODEL, config: HeadConfig | None = None) -> Path:
    """Where the head trained on ``model`` with ``config`` lives: ``cache_dir()/sparse_head/<key>``."""
    config = config or HeadConfig()
    key = hashlib.sha256(f"{fingerprint(model)}|{json.dumps(asdict(config), sort_keys=True)}".encode()).hexdigest()[:16]
    return cache_dir() / "sparse_head" / key


def load_sparse_head(
    model: str = DEFAULT_MODEL, config: HeadConfig | None = None, retrain: bool = False, st_model=None
) -> SparseHead:
    """The sparse head for ``model``, trained with :func:`train_sparse_head` the first time."""
    config = config or HeadConfig()
    folder = sparse_head_dir(model, config)
    path = folder / "head.pt"
    if path.is_file() and not retrain:
        state = torch.load(path, map_location="cpu", weights_only=True)
        head = SparseHead(state["linear.weight"].shape[1])
        head.load_state_dict(state)
        return head.eval()
    head, history = train_sparse_head(model, config, st_model=st_model)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"head.{os.getpid()}.tmp"
    torch.save(head.state_dict(), tmp)
    os.replace(tmp, path)
    (folder / "train.json").write_text(json.dumps({"model": str(model), "config": asdict(config), "history": history}, indent=1))
    return head.eval()


def training_history(model: str = DEFAULT_MODEL, config: HeadConfig | None = None) -> list[dict]:
    """The per-epoch log :func:`load_sparse_head` saved when it trained the head (empty if none)."""
    path = sparse_head_dir(model, config) / "train.json"
    return json.loads(path.read_text())["history"] if path.is_file() else []


def _training_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` (query, positive answer) pairs from InsuranceQA train, each answer used once."""
    from ragcook.data import load_insuranceqa

    ds = load_insuranceqa("train")
    qids = sorted(ds.queries)
    random.Random(seed).shuffle(qids)
    pairs, used = [], set()
    for q in qids:
        pos = sorted(d for d, g in ds.qrels.get(q, {}).items() if g > 0 and d not in used)
        if pos:
            used.add(pos[0])  # an answer shared by two queries would be a false in-batch negative
            pairs.append((ds.queries[q], ds.corpus[pos[0]]))
        if len(pairs) == n:
            break
    return pairs


class PackedTokens:
    """Token ids and frozen token states of many texts in flat tensors, for fast training steps.

    Repeated ids inside a text are grouped once, up front, so a batch needs one small
    ``scatter_reduce(amax)`` over groups and a plain scatter into a (texts x vocabulary) matrix.
    """

    def __init__(self, feats: list[tuple[torch.Tensor, torch.Tensor]]):
        self.n = len(feats)
        self.states = torch.cat([s for _, s in feats]).float()
        lens = torch.tensor([len(i) for i, _ in feats])
        self.tok_start = torch.cat([torch.zeros(1, dtype=torch.long), lens.cumsum(0)])
        group_ids, rel, glens = [], [], []
        for ids, _ in feats:
            uniq, inv = torch.unique(ids, return_inverse=True)
            group_ids.append(uniq)
            rel.append(inv)
            glens.append(len(uniq))
        self.group_token = torch.cat(group_ids)  # vocabulary id of each group
        self.rel_group = torch.cat(rel)  # group of each token, counted from its text's first group
        glens = torch.tensor(glens)
        self.group_start = torch.cat([torch.zeros(1, dtype=torch.long), glens.cumsum(0)])

    def _ranges(self, starts: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        lo, hi = starts[members], starts[members + 1]
        counts = hi - lo
        offsets = torch.repeat_interleave(lo - torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)[:-1]]), counts)
        return torch.arange(int(counts.sum())) + offsets, counts

    def weights(self, head: "SparseHead", members: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """(len(members) x U) weights over the U distinct vocabulary ids of these texts, and those ids."""
        m = torch.as_tensor(members, dtype=torch.long)
        tok, tok_counts = self._ranges(self.tok_start, m)
        grp, grp_counts = self._ranges(self.group_start, m)
        first_group = torch.cat([torch.zeros(1, dtype=torch.long), grp_counts.cumsum(0)[:-1]])
        local = self.rel_group[tok] + torch.repeat_interleave(first_group, tok_counts)
        w = head(self.states[tok])
        gw = torch.zeros(len(grp)).scatter_reduce(0, local, w, "amax", include_self=False)
        vocab, col = torch.unique(self.group_token[grp], return_inverse=True)
        row = torch.repeat_interleave(torch.arange(len(members)), grp_counts)
        out = torch.zeros(len(members), len(vocab)).index_put((row, col), gw)
        return out, vocab


def train_sparse_head(
    model: str = DEFAULT_MODEL, config: HeadConfig | None = None, st_model=None
) -> tuple[SparseHead, list[dict]]:
    """Train a sparse head on frozen token states of ``model`` (InsuranceQA train pairs).

    Loss per batch: InfoNCE over in-batch negatives on ``s(q, p) = sum_t w_q[t] * w_p[t]``
    (shared tokens only, max over repeats), plus ``flops_weight`` x the FLOPS regulariser
    ``sum_t (mean_i w_i[t])^2`` on queries and passages, which pushes weights of common tokens to 0.
    Returns the head and a per-epoch log (loss, in-batch accuracy, average non-zeros of passages).
    """
    config = config or HeadConfig()
    torch.manual_seed(config.seed)
    st = st_model or load_sentence_transformer(model)
    special = set(st.tokenizer.all_special_ids)
    pairs = _training_pairs(config.n_pairs, config.seed)
    if len(pairs) < 2 * config.batch_size:
        raise RagcookError(f"train_sparse_head: only {len(pairs)} training pairs; lower batch_size")
    texts = [q for q, _ in pairs] + [p for _, p in pairs]
    with torch.no_grad():
        feats = [(torch.from_numpy(ids.astype(np.int64)), s.clone()) for _, ids, s in _token_outputs(st, texts, config.max_length, special)]
    return fit_head(feats, config)


def fit_head(feats: list, config: HeadConfig) -> tuple[SparseHead, list[dict]]:
    """Train a head on precomputed (token ids, token states): first half queries, second half passages."""
    torch.manual_seed(config.seed)
    n = len(feats) // 2
    packed = PackedTokens(feats)
    head = SparseHead(packed.states.shape[1])
    opt = torch.optim.Adam(head.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(config.seed)
    history = []
    for epoch in range(config.epochs):
        perm = torch.randperm(n, generator=gen).tolist()
        tot = acc = nnz = steps = 0.0
        for s in range(0, n - config.batch_size + 1, config.batch_size):
            b = perm[s : s + config.batch_size]
            w, _ = packed.weights(head, b + [n + i for i in b])
            q, p = w[: len(b)], w[len(b) :]
            scores = q @ p.T / config.temperature
            target = torch.arange(len(b))
            flops = (q.mean(0) ** 2).sum() + (p.mean(0) ** 2).sum()
            loss = torch.nn.functional.cross_entropy(scores, target) + config.flops_weight * flops
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += loss.item()
            acc += (scores.argmax(1) == target).float().mean().item()
            nnz += (p > 0).sum(1).float().mean().item()
            steps += 1
        history.append({"epoch": epoch + 1, "loss": tot / steps, "accuracy": acc / steps, "passage_nnz": nnz / steps})
    return head.eval(), history


# --------------------------------------------------------------------------- retrievers


def sparse_search(q: sp.spmatrix, d: sp.spmatrix, qids: list[str], doc_ids: list[str], k: int = 100, chunk: int = 256) -> Run:
    """Rank documents by the sparse dot product ``q @ d.T`` (scipy); keep the top ``k`` with score > 0."""
    q, dt = sp.csr_matrix(q), sp.csr_matrix(d).T.tocsc()
    k = min(k, len(doc_ids))
    run: Run = {}
    for s in range(0, q.shape[0], chunk):
        scores = (q[s : s + chunk] @ dt).toarray()
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else np.tile(np.arange(scores.shape[1]), (len(scores), 1))
        for i, row in enumerate(part):
            best = row[np.argsort(-scores[i, row], kind="stable")]
            run[qids[s + i]] = {doc_ids[j]: float(scores[i, j]) for j in best if scores[i, j] > 0}
    return run


def dense_search(q: np.ndarray, d: np.ndarray, qids: list[str], doc_ids: list[str], k: int = 100) -> Run:
    """Exact inner-product search over normalised vectors (= cosine), top ``k`` per query."""
    scores = q @ d.T
    k = min(k, len(doc_ids))
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    run: Run = {}
    for i, row in enumerate(part):
        best = row[np.argsort(-scores[i, row], kind="stable")]
        run[qids[i]] = {doc_ids[j]: float(scores[i, j]) for j in best}
    return run


def _encode_sparse(encoder, texts: list[str]) -> sp.csr_matrix:
    out = encoder.encode(texts)
    return out[1] if isinstance(out, tuple) else out


class SparseRetriever:
    """Sparse dot-product retrieval over any encoder with ``encode(texts)`` (SPLADE or the M3 head).

    ``doc_top_n`` prunes every document to its heaviest weights (a smaller index).
    """

    def __init__(self, encoder, name: str = "sparse", doc_top_n: int | None = None):
        self.encoder, self.name, self.doc_top_n = encoder, name, doc_top_n
        self.doc_ids: list[str] = []
        self.doc_matrix: sp.csr_matrix | None = None

    def index(self, corpus: dict[str, str]) -> "SparseRetriever":
        self.doc_ids = list(corpus)
        self.doc_matrix = prune(_encode_sparse(self.encoder, list(corpus.values())), self.doc_top_n)
        return self

    def encode_queries(self, queries: dict[str, str]) -> sp.csr_matrix:
        return _encode_sparse(self.encoder, list(queries.values()))

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        if self.doc_matrix is None:
            raise RagcookError(f"{self.name}: call index(corpus) before search()")
        return sparse_search(self.encode_queries(queries), self.doc_matrix, list(queries), self.doc_ids, k)


def atan_fusion(runs: list[Run], weights: list[float], norm_score: bool = True) -> Run:
    """Milvus's ``WeightedRanker``: ``sum of weight * (0.5 + atan(score) / pi)`` over the runs that have the document.

    This is the formula Milvus applies to inner-product scores with ``norm_score=True`` (with
    ``norm_score=False`` the raw scores are added). Unlike min-max normalisation it does not depend
    on the other documents of the query, so a database can apply it shard by shard.
    """
    if len(weights) != len(runs):
        raise RagcookError(f"atan_fusion: {len(runs)} runs but {len(weights)} weights")
    fused: Run = {}
    for run, w in zip(runs, weights):
        for qid, docs in run.items():
            out = fused.setdefault(qid, {})
            for did, s in docs.items():
                out[did] = out.get(did, 0.0) + w * ((0.5 + math.atan(s) / math.pi) if norm_score else s)
    return fused


FUSIONS = ("atan", "rrf", "weighted")


class DenseSparse:
    """Dense + sparse from one :class:`M3Encoder` pass, fused per query.

    Each side returns its top ``depth``; then

    - ``"atan"`` (default): Milvus's ``WeightedRanker(weight, 1 - weight)``, see :func:`atan_fusion`;
    - ``"rrf"``: ``sum 1 / (rrf_k + rank)``, Milvus's ``RRFRanker(rrf_k)``;
    - ``"weighted"``: min-max normalised scores (:func:`ragcook.retrieve.weighted_fusion`).

    The first two are the database's own formulas, so :mod:`ragcook.vectordb` ranks the same way.
    ``weight`` is on dense; 0.7 was chosen on the InsuranceQA validation split.
    """

    def __init__(
        self,
        encoder: M3Encoder,
        method: str = "atan",
        weight: float = 0.7,
        rrf_k: int = 60,
        depth: int = 100,
        name: str = "dense+sparse",
    ):
        if method not in FUSIONS:
            raise RagcookError(f"DenseSparse: unknown fusion method {method!r}; use one of {', '.join(FUSIONS)}")
        self.encoder, self.method, self.weight = encoder, method, weight
        self.rrf_k, self.depth, self.name = rrf_k, depth, name
        self.doc_ids: list[str] = []
        self.doc_dense: np.ndarray | None = None
        self.doc_sparse: sp.csr_matrix | None = None

    def index(self, corpus: dict[str, str]) -> "DenseSparse":
        self.doc_ids = list(corpus)
        self.doc_dense, self.doc_sparse = self.encoder.encode(list(corpus.values()))
        return self

    def runs(self, queries: dict[str, str], k: int | None = None) -> tuple[Run, Run]:
        """The dense run and the sparse run (top ``k``, default ``depth``), before fusion."""
        if self.doc_dense is None:
            raise RagcookError(f"{self.name}: call index(corpus) before search()")
        qd, qs = self.encoder.encode(list(queries.values()))
        depth = k or self.depth
        qids = list(queries)
        return (
            dense_search(qd, self.doc_dense, qids, self.doc_ids, depth),
            sparse_search(qs, self.doc_sparse, qids, self.doc_ids, depth),
        )

    def fuse(self, dense: Run, sparse: Run, k: int = 100) -> Run:
        """Fuse the top ``depth`` of each run and keep the best ``k``."""
        dense, sparse = top_k(dense, self.depth), top_k(sparse, self.depth)
        if self.method == "rrf":
            fused = rrf([dense, sparse], self.rrf_k, self.depth)
        elif self.method == "atan":
            fused = atan_fusion([dense, sparse], [self.weight, 1 - self.weight])
        else:
            fused = weighted_fusion([dense, sparse], [self.weight, 1 - self.weight])
        return top_k(fused, k)

    def search(self, queries: dict[str, str], k: int = 100) -> Run:
        dense, sparse = self.runs(queries, self.depth)
        return self.fuse(dense, sparse, k)


# --------------------------------------------------------------------------- experiments


def pruning_curve(retriever: SparseRetriever, queries: dict[str, str], qrels, sizes: Iterable[int | None]):
    """nDCG@10 and average non-zeros per document when documents keep only their top-N weights."""
    import pandas as pd

    from ragcook.evaluate import evaluate

    if retriever.doc_matrix is None:
        raise RagcookError("pruning_curve: index the retriever first")
    q = retriever.encode_queries(queries)
    rows = []
    for n in sizes:
        d = prune(retriever.doc_matrix, n)
        run = sparse_search(q, d, list(queries), retriever.doc_ids, k=10)
        rows.append({"top_n": n if n is not None else "all", "ndcg@10": evaluate(qrels, run, ["ndcg@10"])["ndcg@10"], "avg_nnz": avg_nonzeros(d)})
    return pd.DataFrame(rows)


def fusion_sweep(dense: Run, sparse: Run, qrels, weights: Iterable[float], method: str = "atan", metric: str = "ndcg@10"):
    """``metric`` of weighted fusion for each weight on dense (0 = sparse only, 1 = dense only).

    ``method="atan"`` is Milvus's ``WeightedRanker`` (:func:`atan_fusion`), ``"weighted"`` min-max fusion.
    """
    import pandas as pd

    from ragcook.evaluate import evaluate

    if method not in ("atan", "weighted"):
        raise RagcookError(f"fusion_sweep: unknown method {method!r}; use 'atan' or 'weighted'")
    fuse = atan_fusion if method == "atan" else weighted_fusion
    rows = [{"weight": float(w), metric: evaluate(qrels, fuse([dense, sparse], [w, 1 - w]), [metric])[metric]} for w in weights]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- registry factories


def _check_lang(lang: str, what: str) -> None:
    if lang != "en":
        raise RagcookError(f"{what} is English-only here (its vocabulary and training data); use bm25 or dense for {lang!r}")


def make_splade(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> SparseRetriever:
    """SPLADE-tiny (always; ``model`` is the dense model and is not used)."""
    _check_lang(lang, "splade (SPLADE-tiny)")
    return SparseRetriever(SpladeEncoder("splade-tiny", **kw), name="splade")


def make_sparse_head(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> SparseRetriever:
    """The BGE-M3-style sparse head on ``model`` (trained and cached on first use)."""
    _check_lang(lang, "sparse-head")
    return SparseRetriever(M3Encoder(model, config=kw.pop("config", None)), name="sparse-head", **kw)


def make_dense_sparse(model: str = DEFAULT_MODEL, lang: str = "en", **kw) -> DenseSparse:
    """Dense + sparse head of ``model`` from one forward pass, fused as Milvus's WeightedRanker(0.7, 0.3)."""
    _check_lang(lang, "dense+sparse")
    return DenseSparse(M3Encoder(model, config=kw.pop("config", None)), **kw)


# --------------------------------------------------------------------------- plots


def plot_pruning(curves: dict, points: dict | None = None, title: str = "Index size against quality"):
    """nDCG@10 against average non-zeros per document, one line per model (labels: N kept).

    ``curves``: name -> :func:`pruning_curve` table; ``points``: name -> (non-zeros, nDCG@10) markers.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=100)
    for i, (name, df) in enumerate(curves.items()):
        ax.plot(df["avg_nnz"], df["ndcg@10"], marker="o", ms=4, color=f"C{i}", label=name)
        last = None
        for n, x, y in zip(df["top_n"], df["avg_nnz"], df["ndcg@10"]):
            if last is None or x > last * 1.05:  # skip labels of points on top of each other
                ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(3, -9), fontsize=7, color=f"C{i}")
                last = x
    for j, (name, (x, y)) in enumerate((points or {}).items()):
        ax.scatter([x], [y], marker="s", color=f"C{len(curves) + j}", label=name, zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("average non-zeros per document (log scale)")
    ax.set_ylabel("nDCG@10")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_fusion(curves: dict, rrf_scores: dict | None = None, metric: str = "ndcg@10"):
    """One line per pair of runs: ``metric`` against the weight on dense; dashed lines: RRF."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.2), dpi=100)
    for i, (name, df) in enumerate(curves.items()):
        ax.plot(df["weight"], df[metric], marker="o", ms=3, color=f"C{i}", label=f"{name}: weighted")
        if rrf_scores and name in rrf_scores:
            ax.axhline(rrf_scores[name], ls="--", color=f"C{i}", lw=1, label=f"{name}: RRF (k=60)")
    ax.set_xlabel("weight on dense (0 = sparse only, 1 = dense only)")
    ax.set_ylabel(metric)
    ax.legend(fontsize=7)
    ax.set_title("Dense + sparse score fusion", fontsize=10)
    fig.tight_layout()
    return fig
