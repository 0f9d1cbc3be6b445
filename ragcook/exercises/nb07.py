"""Exercises of notebook 07 (contrastive learning: InfoNCE and the triplet loss by hand)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _info_nce(fn) -> None:
    gen = torch.Generator().manual_seed(7)
    sim = torch.rand(4, 4, generator=gen) * 2 - 1
    want = F.cross_entropy(sim / 0.05, torch.arange(4)).item()
    got = float(fn(sim, 0.05))
    plain = F.cross_entropy(sim, torch.arange(4)).item()
    assert abs(got - plain) > 1e-3 or abs(want - plain) < 1e-3, "divide the similarities by the temperature before the softmax"
    assert abs(got - want) < 1e-4, (
        f"info_nce(sim, 0.05) should be {want:.4f} (mean over rows of -log softmax(sim[i] / t)[i]), got {got:.4f}"
    )
    assert abs(float(fn(sim, 1.0)) - plain) < 1e-4, "with temperature 1 the loss is plain cross-entropy on sim"
    wide = torch.rand(3, 5, generator=gen)
    want_wide = F.cross_entropy(wide / 0.1, torch.arange(3)).item()
    assert abs(float(fn(wide, 0.1)) - want_wide) < 1e-4, (
        "sim may have more columns than rows (hard negatives appended): row i's positive is still column i"
    )
    perfect = torch.eye(4) * 2 - 1  # every query at cosine 1 with its answer, -1 with the others
    assert float(fn(perfect, 0.05)) < 1e-6, "a batch where each query matches only its own answer has loss ~0"
    uniform = torch.zeros(4, 4)
    assert abs(float(fn(uniform, 0.05)) - torch.log(torch.tensor(4.0)).item()) < 1e-5, (
        "when every similarity is equal the loss is log(B), chance level"
    )


def _triplet_loss(fn) -> None:
    gen = torch.Generator().manual_seed(7)
    q, pos, neg = (torch.randn(6, 8, generator=gen) * 3 for _ in range(3))
    sp, sn = F.cosine_similarity(q, pos, dim=-1), F.cosine_similarity(q, neg, dim=-1)
    for margin in (0.2, 1.0):
        want = F.relu(margin - sp + sn).mean().item()
        got = float(fn(q, pos, neg, margin))
        unnormalised = F.relu(margin - (q * pos).sum(-1) + (q * neg).sum(-1)).mean().item()
        assert abs(got - unnormalised) > 1e-4, "use cosine similarities (normalise the vectors), not raw dot products"
        assert abs(got - want) < 1e-4, (
            f"triplet_loss(q, pos, neg, {margin}) should be {want:.4f}: the mean over rows of "
            f"max(0, margin - cos(q, pos) + cos(q, neg)), got {got:.4f}"
        )
    easy = float(fn(q, q, -q, 0.2))
    assert abs(easy) < 1e-6, (
        "a negative already far below the positive (by more than the margin) contributes 0, not a negative loss"
    )


CHECKS = {"07.1": ("info_nce", _info_nce), "07.2": ("triplet_loss", _triplet_loss)}
