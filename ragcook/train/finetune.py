"""Fine-tuning entry points: train from a samples file with either backend, or get the course's model.

:func:`finetune` is what ``ragcook finetune`` runs. :func:`ensure_finetuned` keeps one trained
model in the cache (trained when missing, resumed from its checkpoint when interrupted), so
later notebooks and ``ragcook run`` share it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ragcook.cache import build_once, trained_dir
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL
from ragcook.train.finetune_flag import finetune_flag
from ragcook.train.finetune_st import FinetuneResult, finetune_st
from ragcook.train.insuranceqa import course_samples
from ragcook.train.samples import Sample, read_samples

#: Settings the course trains with: cheap on 2 CPU cores, and enough to move InsuranceQA.
DEFAULTS = dict(batch_size=32, lr=1e-4, max_seq_length=64, max_steps=20, n_negatives=1, seed=13)


def finetune(samples_path: str | Path, base: str | Path, out: str | Path, backend: str = "st", **kw) -> FinetuneResult:
    """The ``ragcook finetune`` command's work: read JSONL samples, train with ``backend``."""
    samples = read_samples(samples_path)
    if backend == "st":
        return finetune_st(samples, out, base=base, **kw)
    if backend == "flag":
        return finetune_flag(samples_path, out, base=base, **kw)
    raise RagcookError(f"finetune: backend must be 'st' or 'flag', got {backend!r}")


def ensure_finetuned(
    base: str | Path = DEFAULT_MODEL,
    n_queries: int = 600,
    max_steps: int = DEFAULTS["max_steps"],
    batch_size: int = DEFAULTS["batch_size"],
    lr: float = DEFAULTS["lr"],
    max_seq_length: int = DEFAULTS["max_seq_length"],
    n_negatives: int = DEFAULTS["n_negatives"],
    seed: int = DEFAULTS["seed"],
) -> Path:
    """The course's fine-tuned model, from the cache, trained (ST backend) when missing.

    Cached under ``cache_dir()/finetuned/<base>-<hash of the settings>``; a half-finished run
    resumes from its checkpoint.
    """
    cfg = dict(base=str(base), n=n_queries, steps=max_steps, bs=batch_size, lr=lr, len=max_seq_length, neg=n_negatives, seed=seed)
    budget = dict(max_steps=max_steps, batch_size=batch_size, lr=lr, n_negatives=n_negatives, max_seq_length=max_seq_length,
                  seed=seed, save_steps=max(1, max_steps // 2))  # fmt: skip
    return ensure_trained("finetuned", cfg, lambda samples, out: finetune_st(samples, out, base=base, **budget))


def ensure_trained(folder: str, cfg: dict, train: Callable[[list[Sample], Path], object]) -> Path:
    """The model trained with settings ``cfg`` on the course's samples, from the cache, else ``train(samples, out)``.

    Shared by :func:`ensure_finetuned` and :func:`ragcook.train.matryoshka.ensure_matryoshka`: the
    same samples (``cfg``'s ``n`` questions, ``neg`` negatives, ``seed``), the same folder naming, and a
    half-finished run that resumes from its checkpoint.
    """
    out = trained_dir(folder, cfg["base"], cfg)
    samples = dict(n_neg=cfg["neg"], base=cfg["base"], seed=cfg["seed"])
    build_once(out, lambda: (out / "modules.json").is_file(), lambda: train(course_samples(cfg["n"], **samples), out))
    return out
