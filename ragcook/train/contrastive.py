"""Contrastive losses written out in plain PyTorch, and a training loop that really trains.

InfoNCE with in-batch negatives (what sentence-transformers calls MultipleNegativesRankingLoss):
a batch of ``B`` (query, passage) pairs gives a ``B x B`` similarity matrix; row ``i`` should
pick column ``i`` (its own passage) over the ``B - 1`` passages of the other queries. Divide by a
temperature, and the loss is plain cross-entropy with labels ``0 .. B-1``.

The trap: ``SentenceTransformer.encode()`` runs under ``torch.no_grad()`` and returns plain
vectors, so a loss built on its output has no path back to the weights. A loop written that
way prints losses and trains nothing. :func:`embed` runs the model's modules instead
(``model(model.preprocess(texts))["sentence_embedding"]``), which keeps the graph.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ragcook.errors import RagcookError


def similarity_matrix(q: torch.Tensor, d: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """Cosine similarities of every query with every passage, divided by ``temperature``: ``B_q x B_d``."""
    if temperature <= 0:
        raise RagcookError(f"temperature must be positive, got {temperature}")
    return F.normalize(q, dim=-1) @ F.normalize(d, dim=-1).T / temperature


def info_nce(q: torch.Tensor, d: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """InfoNCE with in-batch negatives: ``d[i]`` is the positive of ``q[i]``, every other row a negative.

    ``d`` may hold more rows than ``q`` (extra hard negatives appended after the positives).
    """
    if d.shape[0] < q.shape[0]:
        raise RagcookError("info_nce: need at least one passage per query (d[i] is the positive of q[i])")
    scores = similarity_matrix(q, d, temperature)
    labels = torch.arange(q.shape[0], device=q.device)
    return F.cross_entropy(scores, labels)


def triplet_margin(q: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor, margin: float = 0.2) -> torch.Tensor:
    """The older baseline: ``mean(max(0, margin - cos(q, pos) + cos(q, neg)))``, one negative per query."""
    sp = F.cosine_similarity(q, pos, dim=-1)
    sn = F.cosine_similarity(q, neg, dim=-1)
    return F.relu(margin - sp + sn).mean()


def embed(model, texts: list[str]) -> torch.Tensor:
    """Sentence embeddings WITH gradients: tokenize, then run the model's modules forward."""
    features = model.preprocess(texts) if hasattr(model, "preprocess") else model.tokenize(texts)
    features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
    return model(features)["sentence_embedding"]


def embed_the_wrong_way(model, texts: list[str]) -> torch.Tensor:
    """What many snippets do: ``model.encode(...)``. Same numbers, but no gradient can flow back."""
    return model.encode(texts, convert_to_tensor=True, show_progress_bar=False)


def snapshot(model) -> dict[str, torch.Tensor]:
    """A copy of every trainable weight, to check later whether training changed anything."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def max_change(before: dict[str, torch.Tensor], model) -> float:
    """Largest absolute change of any weight since :func:`snapshot`."""
    now = dict(model.named_parameters())
    return max(float((now[n].detach() - w).abs().max()) for n, w in before.items())


@dataclass
class TrainLog:
    losses: list[float] = field(default_factory=list)
    requires_grad: bool = True
    error: str = ""
    max_weight_change: float = 0.0


def train(
    model,
    pairs: list[tuple[str, str]],
    steps: int = 20,
    batch_size: int = 16,
    lr: float = 5e-5,
    temperature: float = 0.05,
    loss: str = "infonce",
    negatives: list[str] | None = None,
    encode=embed,
    seed: int = 13,
) -> TrainLog:
    """A hand-written training loop over (query, positive) pairs; returns the loss of every step.

    ``loss="infonce"`` uses in-batch negatives; ``loss="triplet"`` pairs each query with a random
    passage from ``negatives`` (default: the other pairs' positives). Pass
    ``encode=embed_the_wrong_way`` to watch the trap: the loss has no gradient, ``backward()``
    fails, and the weights stay as they were.
    """
    if loss not in ("infonce", "triplet"):
        raise RagcookError(f"loss must be 'infonce' or 'triplet', got {loss!r}")
    if len(pairs) < 2:
        raise RagcookError("train: need at least 2 (query, positive) pairs")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    pool = negatives or [p for _, p in pairs]
    order = list(range(len(pairs)))
    rng.shuffle(order)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    before = snapshot(model)
    log = TrainLog()
    model.train()
    for step in range(steps):
        start = (step * batch_size) % len(order)
        idx = (order + order)[start : start + batch_size]
        qs, ps = [pairs[i][0] for i in idx], [pairs[i][1] for i in idx]
        q, p = encode(model, qs), encode(model, ps)
        if loss == "infonce":
            value = info_nce(q, p, temperature)
        else:
            value = triplet_margin(q, p, encode(model, [rng.choice(pool) for _ in idx]))
        log.losses.append(float(value.detach()))
        log.requires_grad = log.requires_grad and value.requires_grad
        opt.zero_grad()
        try:
            value.backward()
        except RuntimeError as e:  # the trap: "element 0 of tensors does not require grad"
            log.error = str(e).splitlines()[0]
        opt.step()
    model.eval()
    log.max_weight_change = max_change(before, model)
    return log
