"""A cross-encoder reranker, trained here: query and passage read together by one transformer.

A bi-encoder embeds a query and a passage separately and compares two vectors. A cross-encoder
reads ``[CLS] query [SEP] passage [SEP]`` in one pass, so every query word attends to every
passage word, and a one-output head turns the pair's states into one relevance score.
Nothing can be precomputed (one forward pass per pair), so it only *reranks* the few dozen
documents a first stage returns (:mod:`ragcook.retrieve.rerank`).

No cross-encoder weights ship on PyPI, so the course trains one: all-MiniLM-L6-v2 with a fresh
one-output head (:func:`new_cross_encoder`) on InsuranceQA *train* questions, each with
its answers (label 1) and hard negatives drawn from the base bi-encoder's top ranks (label 0),
with sentence-transformers' ``CrossEncoderTrainer`` and ``BinaryCrossEntropyLoss`` (the loss of
its MS MARCO rerankers; ``pos_weight`` = negatives per positive balances the two classes).
``loss="mnrl"`` trains listwise instead: each question picks its answer among its hard
negatives and in-batch answers. :func:`ensure_cross_encoder` caches the model under
``cache_dir()/cross_encoder``. Any cross-encoder folder (bge-reranker on disk, say) can rerank
in its place.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ragcook.cache import build_once, trained_dir
from ragcook.encode.backends import TRAIN_BACKEND
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL, resolve
from ragcook.train.finetune_st import FinetuneResult, _log_callback, _report_to, plot_log, read_log, run_dir
from ragcook.train.insuranceqa import insuranceqa_samples
from ragcook.train.samples import Sample, to_st_dataset

LOSSES = ("bce", "mnrl")
POOLINGS = ("mean", "cls")


@dataclass(frozen=True)
class CrossEncoderConfig:
    """How the course's cross-encoder is trained; its cache folder is named by a hash of these.

    Sized to train in about two minutes on two CPU cores (64 steps of 32 pairs of at most 64 tokens,
    three quarters of a pass over the pairs of 600 train questions): enough to show the recipe, far
    from a published reranker's millions of pairs. The 600 questions are the course's fine-tuning
    questions (:func:`ragcook.train.insuranceqa.course_samples`), so the base model's vectors that mine
    the negatives are the ones notebook 08 cached. 1,024 questions cost 45 s more of mining on one
    core, for a reranker a little better on notebook 13's 100 questions (2026-11-26, one Intel Xeon
    core: top 20 reranked, nDCG@10 0.606 against 0.600; top 50, 0.579 against 0.561); both lose to
    the first stage there. The fresh head needs both the steps and the rate. When this was
    sized with the classic ``[CLS]`` head (``pooling="cls"``), 32 steps at 2e-4 left every pair with
    the same score, 128 steps at 3e-5 left the loss where it started, and 64 steps at 3e-4 did not
    learn; it took 128 steps at 1e-4. The head on the mean of the token states (``pooling="mean"``,
    the vector MiniLM was trained to produce) learns in 64 steps at 3e-4, to about the reranking
    quality of those 128 (2026-11-26, on the 100 questions of notebook 13).
    """

    base: str = DEFAULT_MODEL
    n_queries: int = 600
    n_neg: int = 3
    ranks: tuple[int, int] = (1, 30)
    loss: str = "bce"
    max_steps: int = 64
    batch_size: int = 32
    lr: float = 3e-4
    max_length: int = 64
    pooling: str = "mean"
    seed: int = 13


def labelled_pairs(samples: list[Sample]) -> tuple[list[str], list[str], list[int]]:
    """Queries, passages and labels: 1 for each positive, 0 for each negative (BCE's input)."""
    queries, passages, labels = [], [], []
    for s in samples:
        for text, label in [(p, 1) for p in s.pos] + [(n, 0) for n in s.neg]:
            queries.append(s.query)
            passages.append(text)
            labels.append(label)
    return queries, passages, labels


def training_samples(config: CrossEncoderConfig) -> list[Sample]:
    """InsuranceQA *train* questions with ``n_neg`` hard negatives from the base bi-encoder's ``ranks``.

    The reranker will see a first stage's top few dozen, so its negatives come from the top ranks
    too (the bi-encoder's lessons mined ranks 10-100). Mined from the questions' own answers with
    passages cut to 128 tokens, like :func:`ragcook.train.insuranceqa.course_samples` (cached vectors).
    """
    from ragcook.retrieve import Dense

    dense = Dense(str(config.base), max_seq_length=128, show_progress=False, backend=TRAIN_BACKEND)
    return insuranceqa_samples(
        "train", n_neg=config.n_neg, max_queries=config.n_queries, ranks=config.ranks, seed=config.seed, dense=dense,
        pool="positives",
    )  # fmt: skip


def _dataset(samples: list[Sample], loss: str):
    from datasets import Dataset as HFDataset

    if loss == "mnrl":
        n = min(len(s.neg) for s in samples)
        return to_st_dataset(samples, n_negatives=n)
    q, p, y = labelled_pairs(samples)
    return HFDataset.from_dict({"query": q, "passage": p, "label": y})


def _loss(model, loss: str, train):
    import torch
    from sentence_transformers.cross_encoder import losses

    if loss == "mnrl":
        return losses.MultipleNegativesRankingLoss(model, num_negatives=4)
    n_pos = sum(train["label"])
    return losses.BinaryCrossEntropyLoss(model, pos_weight=torch.tensor((len(train) - n_pos) / max(n_pos, 1)))


def new_cross_encoder(base: str, max_length: int, pooling: str = "mean"):
    """A cross-encoder with a fresh one-output head on ``base``'s transformer, before any training.

    ``pooling="cls"`` is the classic build, ``CrossEncoder(path, num_labels=1)``: BERT's pooler and a
    linear classifier read the ``[CLS]`` state. ``"mean"`` puts the linear head on the *mean* of the
    token states (sentence-transformers' ``Transformer``, ``Pooling`` and ``Dense`` modules): the
    vector a bi-encoder such as all-MiniLM-L6-v2 was trained to produce, where its ``[CLS]`` state
    was never trained on its own (notebook 02). Either folder loads back with ``CrossEncoder(path)``.
    """
    from sentence_transformers.cross_encoder import CrossEncoder

    if pooling not in POOLINGS:
        raise RagcookError(f"cross-encoder: pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    if pooling == "cls":
        return CrossEncoder(str(resolve(base)), num_labels=1, max_length=max_length)
    from sentence_transformers.base.modules import Dense, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from torch import nn

    kw = {"transformer_task": "feature-extraction", "processor_kwargs": {"model_max_length": max_length}}
    transformer = Transformer(str(resolve(base)), **kw)
    dim = transformer.get_embedding_dimension()
    head = Dense(dim, 1, activation_function=nn.Identity(), module_output_name="scores")
    return CrossEncoder(modules=[transformer, Pooling(dim, "mean"), head])


def train_cross_encoder(
    samples: list[Sample],
    out: str | Path,
    config: CrossEncoderConfig | None = None,
    save_steps: int | None = None,
    keep_checkpoints: bool = False,
    logging_steps: int = 5,
) -> FinetuneResult:
    """Train ``config.base`` with a fresh one-output head (:func:`new_cross_encoder`) on ``samples``, saved to ``out``.

    Checkpoints go to ``out/checkpoints`` every ``save_steps``; if one exists, training resumes from
    it, and the loss log (``loss.jsonl``, plotted to ``loss.png``) goes on. Checkpoints are deleted
    once the model is saved unless ``keep_checkpoints``.
    """
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from transformers import set_seed
    from transformers.trainer_callback import PrinterCallback

    config = config or CrossEncoderConfig()
    if config.loss not in LOSSES:
        raise RagcookError(f"cross-encoder: loss must be one of {', '.join(LOSSES)}, got {config.loss!r}")
    if not samples:
        raise RagcookError("cross-encoder: no samples to train on")
    set_seed(config.seed)  # the fresh head's first weights: the same whatever this process drew before
    model = new_cross_encoder(config.base, config.max_length, config.pooling)  # checks pooling before any folder exists
    out = Path(out)
    ckpt_dir, log_path, resume = run_dir(out)
    train = _dataset(samples, config.loss).shuffle(seed=config.seed)
    args = CrossEncoderTrainingArguments(
        output_dir=str(ckpt_dir),
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr,
        warmup_steps=0.1,
        batch_sampler=BatchSamplers.NO_DUPLICATES if config.loss == "mnrl" else BatchSamplers.BATCH_SAMPLER,
        logging_steps=logging_steps,
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or 500,
        save_total_limit=1,
        report_to=_report_to(),
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = CrossEncoderTrainer(
        model=model, args=args, train_dataset=train, loss=_loss(model, config.loss, train), callbacks=[_log_callback(log_path)]
    )
    trainer.remove_callback(PrinterCallback)  # losses go to loss.jsonl, not to the notebook
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=resume or None)
    seconds = time.perf_counter() - t0
    model.save_pretrained(str(out))
    (out / "ragcook.json").write_text(json.dumps(asdict(config), indent=1), encoding="utf-8")
    if not keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    log = read_log(log_path)
    plot = plot_log(log, out / "loss.png", title=f"cross-encoder from {Path(str(config.base)).name} ({config.loss})")
    return FinetuneResult(out, log_path, plot, seconds, resume, log)


def cross_encoder_dir(config: CrossEncoderConfig | None = None) -> Path:
    """Where :func:`ensure_cross_encoder` keeps the model trained with ``config`` (default: the course's)."""
    config = config or CrossEncoderConfig()
    return trained_dir("cross_encoder", config.base, asdict(config))


def ensure_cross_encoder(config: CrossEncoderConfig | None = None) -> Path:
    """The course's cross-encoder folder, from the cache, trained when missing (resumed when interrupted)."""
    config = config or CrossEncoderConfig()
    out = cross_encoder_dir(config)
    build_once(
        out,
        lambda: (out / "ragcook.json").is_file(),
        lambda: train_cross_encoder(training_samples(config), out, config, save_steps=max(1, config.max_steps // 3)),
    )
    return out
