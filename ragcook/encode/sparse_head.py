"""BGE-M3's sparse head: one learned weight per token, fitted on a frozen bi-encoder.

BGE-M3 (Chen et al., 2024) puts ``relu(Linear(hidden -> 1))`` over the token states of its
encoder: each token of a text gets a weight, a repeated token keeps its largest one, and the
dot product over shared tokens scores a query against a passage. Here the encoder stays frozen
and only that one linear layer (385 numbers for MiniLM) is trained, with InfoNCE over in-batch
negatives on the sparse dot product plus SPLADE's FLOPS penalty, on InsuranceQA train pairs.
That takes seconds, so the head lives with its encoder (:class:`ragcook.encode.sparse.M3Encoder`)
and is trained on first use and cached; fine-tuning the transformer itself is ``ragcook.train``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ragcook.cache import build_once, cache_dir
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, fingerprint, load_sentence_transformer

#: HeadConfig fields added after heads were first cached, with their defaults (see sparse_head_dir).
_NEWER = {"lang": "en", "query_prompt": "", "passage_prompt": ""}


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
    lang: str = "en"  # which side of InsuranceQA train: "zh" is the machine-translated Chinese
    query_prompt: str = ""  # prepended to training queries (e5: "query: "); use the same when encoding
    passage_prompt: str = ""  # prepended to training passages (e5: "passage: ")


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
    def from_bge_m3(cls, folder: str | os.PathLike) -> SparseHead:
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


def token_outputs(model, texts: list[str], max_length: int | None, special: set[int], chunk: int = 256):
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


def sparse_head_dir(model: str = DEFAULT_MODEL, config: HeadConfig | None = None) -> Path:
    """Where the head trained on ``model`` with ``config`` lives: ``cache_dir()/sparse_head/<key>``."""
    config = config or HeadConfig()
    # Fields left at their defaults stay out of the key, so heads cached before a field existed are found.
    fields = {k: v for k, v in asdict(config).items() if k not in _NEWER or v != _NEWER[k]}
    key = hashlib.sha256(f"{fingerprint(model)}|{json.dumps(fields, sort_keys=True)}".encode()).hexdigest()[:16]
    return cache_dir() / "sparse_head" / key


def load_sparse_head(
    model: str = DEFAULT_MODEL, config: HeadConfig | None = None, retrain: bool = False, st_model=None
) -> SparseHead:
    """The sparse head for ``model``, trained with :func:`train_sparse_head` the first time."""
    config = config or HeadConfig()
    folder = sparse_head_dir(model, config)
    path = folder / "head.pt"

    def build() -> None:
        head, history = train_sparse_head(model, config, st_model=st_model)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"head.{os.getpid()}.tmp"
        torch.save(head.state_dict(), tmp)
        os.replace(tmp, path)
        meta = {"model": str(model), "config": asdict(config), "history": history}
        (folder / "train.json").write_text(json.dumps(meta, indent=1))

    build_once(folder, lambda: path.is_file() and not retrain, build)
    state = torch.load(path, map_location="cpu", weights_only=True)
    head = SparseHead(state["linear.weight"].shape[1])
    head.load_state_dict(state)
    return head.eval()


def training_history(model: str = DEFAULT_MODEL, config: HeadConfig | None = None) -> list[dict]:
    """The per-epoch log :func:`load_sparse_head` saved when it trained the head (empty if none)."""
    path = sparse_head_dir(model, config) / "train.json"
    return json.loads(path.read_text())["history"] if path.is_file() else []


def _training_pairs(n: int, seed: int, lang: str = "en") -> list[tuple[str, str]]:
    """``n`` (query, positive answer) pairs from InsuranceQA train (``lang`` side), each answer used once."""
    from ragcook.data import load_insuranceqa

    ds = load_insuranceqa("train", lang=lang)
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

    def weights(self, head: SparseHead, members: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
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
    pairs = _training_pairs(config.n_pairs, config.seed, config.lang)
    if len(pairs) < 2 * config.batch_size:
        raise RagcookError(f"train_sparse_head: only {len(pairs)} training pairs; lower batch_size")
    texts = [config.query_prompt + q for q, _ in pairs] + [config.passage_prompt + p for _, p in pairs]
    with torch.no_grad():
        feats = [
            (torch.from_numpy(ids.astype(np.int64)), s.clone())
            for _, ids, s in token_outputs(st, texts, config.max_length, special)
        ]
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
