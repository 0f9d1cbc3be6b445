"""Training sets from InsuranceQA's human questions, with hard negatives mined by the base model.

The course's fine-tuning lessons (notebooks 07-10, ``ragcook run``) train on InsuranceQA *train*
questions and evaluate on the held-out *test* questions; the source's recipe (generated
questions for documents) is :mod:`ragcook.train.recipe`.
"""

from __future__ import annotations

from ragcook.data import load_insuranceqa
from ragcook.encode.backends import TRAIN_BACKEND
from ragcook.errors import DataError
from ragcook.models import DEFAULT_MODEL
from ragcook.train.negatives import mine_hard_negatives
from ragcook.train.samples import Sample, from_dataset, question_pairs


def insuranceqa_samples(
    split: str = "train",
    profile: str = "small",
    n_neg: int = 7,
    kind: str = "qa",
    model: str | None = None,
    ranks: tuple[int, int] = (10, 100),
    lang: str = "en",
    max_queries: int | None = None,
    seed: int = 13,
    dense=None,
    pool: str = "corpus",
) -> list[Sample]:
    """Fine-tuning samples from InsuranceQA questions, with hard negatives mined by the base model.

    ``kind="qa"``: question -> its answers, negatives drawn from the split's answer corpus at
    ranks ``ranks`` of the base model. ``kind="qq"``: question -> other questions with the same
    answer, negatives drawn from the split's questions. ``pool="positives"`` mines from the
    samples' own positives instead (fewer passages to encode). ``n_neg=0`` skips mining.
    Deterministic for a given ``seed``. Never train on ``split="test"``: it is what the course
    evaluates on.
    """
    if kind not in ("qa", "qq"):
        raise DataError(f"insuranceqa_samples: kind must be 'qa' or 'qq', got {kind!r}")
    ds = load_insuranceqa(split=split, lang=lang, profile=profile, seed=seed)
    if max_queries:
        ds = ds.take(max_queries, seed=seed)
    if kind == "qa":
        samples, passages = from_dataset(ds), list(ds.corpus.values())
    else:
        samples, passages = question_pairs(ds), list(ds.queries.values())
    if not samples:
        raise DataError(f"insuranceqa_samples: no {kind!r} samples in InsuranceQA {split}/{profile}")
    if n_neg <= 0:
        return samples
    if pool not in ("corpus", "positives"):
        raise DataError(f"insuranceqa_samples: pool must be 'corpus' or 'positives', got {pool!r}")
    return mine_hard_negatives(
        samples, passages if pool == "corpus" else None, model=model or DEFAULT_MODEL, n=n_neg, ranks=ranks,
        seed=seed, dense=dense,
    )  # fmt: skip


def course_samples(
    n_queries: int = 600, n_neg: int = 0, ranks: tuple[int, int] = (5, 50), base: str = DEFAULT_MODEL, seed: int = 13
) -> list[Sample]:
    """InsuranceQA *train* questions -> their answers (+ ``n_neg`` hard negatives): never test.

    Negatives are mined by ``base`` from the samples' own answers (~1,000 passages, not the 5,000
    of the train corpus), with passages cut to 128 tokens: the mining costs ~20 s on 2 cores.
    """
    from ragcook.retrieve import Dense

    dense = Dense(str(base), max_seq_length=128, show_progress=False, backend=TRAIN_BACKEND) if n_neg > 0 else None
    return insuranceqa_samples("train", n_neg=n_neg, max_queries=n_queries, ranks=ranks, seed=seed, dense=dense, pool="positives")
