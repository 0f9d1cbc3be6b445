"""Matryoshka fine-tuning: one model whose vectors still work when cut to their first 256, 128, 64 or 32 numbers.

sentence-transformers' ``MatryoshkaLoss`` (Kusupati et al., 2022) wraps another loss and applies it
to the first ``d`` dimensions of every vector (renormalised) for each ``d`` of ``dims``, summing the
results. The forward pass is shared: only the loss is recomputed per size. Training therefore
pushes the most useful information into the leading dimensions, so a truncated vector loses
little. :func:`ensure_matryoshka` trains it with exactly the budget of the plain course model
(:func:`ragcook.train.finetune.ensure_finetuned`: same samples, steps, batch, learning rate,
length, hard negatives and seed), so the two differ only in the loss.
"""

from __future__ import annotations

from pathlib import Path

from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL
from ragcook.train.finetune import DEFAULTS, ensure_trained
from ragcook.train.finetune_st import FinetuneResult, finetune_st
from ragcook.train.samples import Sample

#: The sizes the loss trains (MiniLM's full 384 first, as sentence-transformers recommends).
MATRYOSHKA_DIMS = (384, 256, 128, 64, 32)


def matryoshka_loss(dims: tuple[int, ...] = MATRYOSHKA_DIMS, weights: tuple[float, ...] | None = None):
    """A ``model -> loss`` function: MatryoshkaLoss over MultipleNegativesRankingLoss at ``dims``, for ``finetune_st(loss=...)``."""
    if not dims or any(d <= 0 for d in dims):
        raise RagcookError(f"matryoshka: dims must be positive sizes, got {dims}")

    def make(model):
        from sentence_transformers.sentence_transformer import losses

        full = model.get_embedding_dimension()
        if full is not None and max(dims) > full:
            raise RagcookError(f"matryoshka: {max(dims)} dimensions asked of a {full}-dimensional model")
        return losses.MatryoshkaLoss(model, losses.MultipleNegativesRankingLoss(model), list(dims), weights)

    return make


def finetune_matryoshka(
    samples: list[Sample], out: str | Path, base: str | Path = DEFAULT_MODEL, dims: tuple[int, ...] = MATRYOSHKA_DIMS, **kw
) -> FinetuneResult:
    """Fine-tune ``base`` on ``samples`` with MatryoshkaLoss at ``dims`` (other settings as ``finetune_st``)."""
    return finetune_st(samples, out, base=base, loss=matryoshka_loss(tuple(dims)), **kw)


def ensure_matryoshka(
    base: str | Path = DEFAULT_MODEL,
    dims: tuple[int, ...] = MATRYOSHKA_DIMS,
    n_queries: int = 600,
    max_steps: int = DEFAULTS["max_steps"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    max_seq_length: int = DEFAULTS["max_seq_length"],
    n_negatives: int = DEFAULTS["n_negatives"],
    seed: int = DEFAULTS["seed"],
) -> Path:
    """The course's Matryoshka model, from the cache, trained when missing (same budget as ``ensure_finetuned``).

    Cached under ``cache_dir()/matryoshka/<base>-<hash of the settings>``; a half-finished run
    resumes from its checkpoint.
    """
    cfg = dict(base=str(base), dims=list(dims), n=n_queries, steps=max_steps, bs=batch_size, lr=lr, len=max_seq_length,
               neg=n_negatives, seed=seed)  # fmt: skip
    budget = dict(max_steps=max_steps, batch_size=batch_size, lr=lr, n_negatives=n_negatives, max_seq_length=max_seq_length,
                  seed=seed, save_steps=max(1, max_steps // 2))  # fmt: skip
    return ensure_trained("matryoshka", cfg, lambda samples, out: finetune_matryoshka(samples, out, base, dims, **budget))
