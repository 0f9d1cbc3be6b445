"""A ColBERT-style multi-vector model, trained briefly from MiniLM with sentence-transformers.

:func:`train_multivector` turns a bi-encoder into a :class:`~sentence_transformers.MultiVectorEncoder`
(the transformer, a projection of every token state to ``dim`` dimensions, token-level
normalisation) and trains all of it with the library's
:class:`~sentence_transformers.multi_vector_encoder.losses.MultiVectorMultipleNegativesRankingLoss`:
InfoNCE on MaxSim scores, each question against its answer, the other answers of the batch and a
hard negative, on InsuranceQA *train* questions (never test). A few dozen steps fit the CPU budget.
:func:`ensure_multivector` keeps the trained model in the cache (trained when missing).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ragcook.cache import build_once, trained_dir
from ragcook.encode.multivector import is_multivector_folder, load_multivector
from ragcook.errors import RagcookError
from ragcook.io import read_jsonl
from ragcook.models import DEFAULT_MODEL
from ragcook.train.finetune_st import _log_callback
from ragcook.train.insuranceqa import course_samples


@dataclass(frozen=True)
class MultiVectorConfig:
    """How :func:`train_multivector` trains (defaults fit a few minutes on 2 CPU cores)."""

    base: str = DEFAULT_MODEL
    n_queries: int = 600  # InsuranceQA train questions
    n_neg: int = 1  # hard negatives per question, mined by the base model (0: in-batch only)
    max_steps: int = 14  # a few s of one core each: the cold notebook within its 3 minutes (20 steps: no better, 2026-11-26)
    batch_size: int = 16
    lr: float = 1e-4
    dim: int = 128  # the projection's output: the size of each token vector
    query_length: int = 32  # tokens seen in training
    document_length: int = 128
    scale: float = 1.0  # 1 / temperature of the loss (the library's default for MaxSim)
    seed: int = 13


def multivector_dir(config: MultiVectorConfig | None = None) -> Path:
    """Where the model trained with ``config`` lives: ``cache_dir()/multivector/<base>-<key>``."""
    config = config or MultiVectorConfig()
    return trained_dir("multivector", config.base, asdict(config))


def train_multivector(config: MultiVectorConfig, out: str | Path) -> dict:
    """Train a multi-vector model from ``config.base`` and save it to ``out``; returns the run's summary."""
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.multi_vector_encoder import MultiVectorEncoderTrainer, MultiVectorEncoderTrainingArguments
    from sentence_transformers.multi_vector_encoder.losses import MultiVectorMultipleNegativesRankingLoss
    from transformers.trainer_callback import PrinterCallback

    from ragcook.train.samples import to_st_dataset

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    samples = course_samples(config.n_queries, n_neg=config.n_neg, base=config.base, seed=config.seed)
    train = to_st_dataset(samples, n_negatives=config.n_neg).shuffle(seed=config.seed)
    if len(train) < config.batch_size:
        raise RagcookError(f"train_multivector: {len(train)} training rows, fewer than a batch of {config.batch_size}")
    model = load_multivector(config.base, project=True, dim=config.dim, seed=config.seed)
    log_path = out / "loss.jsonl"
    log_path.unlink(missing_ok=True)
    args = MultiVectorEncoderTrainingArguments(
        output_dir=str(out / "checkpoints"),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr,
        warmup_steps=0.1,
        max_length={"query": config.query_length, "document": config.document_length},
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        logging_steps=2,
        save_strategy="no",
        report_to="none",
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=True,
        disable_tqdm=True,
    )
    loss = MultiVectorMultipleNegativesRankingLoss(model, scale=config.scale)
    trainer = MultiVectorEncoderTrainer(
        model=model, args=args, train_dataset=train, loss=loss, callbacks=[_log_callback(log_path)]
    )
    trainer.remove_callback(PrinterCallback)
    t0 = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - t0
    model.save(str(out))
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    summary = {"config": asdict(config), "train_rows": len(train), "seconds": round(seconds, 1)}
    (out / "train.json").write_text(json.dumps(summary, indent=1))
    return summary


def ensure_multivector(config: MultiVectorConfig | None = None, retrain: bool = False) -> Path:
    """The trained multi-vector model's folder, from the cache, trained with :func:`train_multivector` when missing.

    It trains into a temporary folder renamed at the end, so an interrupted run never leaves a
    half-trained model that a later call would take for a finished one.
    """
    config = config or MultiVectorConfig()
    folder = multivector_dir(config)

    def build() -> None:
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        train_multivector(config, tmp)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)

    build_once(folder, lambda: is_multivector_folder(folder) and not retrain, build)
    return folder


def training_log(config: MultiVectorConfig | None = None) -> list[dict]:
    """The loss rows (``step``, ``loss``) logged while the cached model trained (empty if none)."""
    path = multivector_dir(config) / "loss.jsonl"
    return [r for r in read_jsonl(path, resumable=True) if "loss" in r] if path.is_file() else []


def training_summary(config: MultiVectorConfig | None = None) -> dict:
    """Settings, number of training rows and seconds of the cached model's training (empty if none)."""
    path = multivector_dir(config) / "train.json"
    return json.loads(path.read_text()) if path.is_file() else {}
