"""The source material's recipe: documents without questions in, a fine-tuned retriever out.

1. chunk the documents;
2. an LLM writes 3 questions per chunk (the source's first prompt) ...
3. ... and then one best question from them (its second prompt);
4. clean the questions (:mod:`ragcook.train.clean`);
5. rank every chunk for each question with the base model and draw **7 negatives at random
   from ranks 10-100**;
6. fine-tune (sentence-transformers, MultipleNegativesRankingLoss).

:func:`run_recipe` is the whole chain on any corpus (``ragcook recipe``). The pieces are here too,
for the experiments of notebook 11 (:mod:`ragcook.eval.recipe`): which questions, which negatives.
The questions the local LLM wrote for InsuranceQA's test-split answers ship in
``data/recipe/`` (:data:`RECIPE_FILE`), so nothing needs an LLM to reproduce the figures.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from ragcook.data import load_insuranceqa
from ragcook.data.dataset import DATA_DIR
from ragcook.encode.backends import TRAIN_BACKEND
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL
from ragcook.retrieve import Dense
from ragcook.text.chunk import Chunk, chunk_corpus, read_corpus
from ragcook.train.clean import clean_generated
from ragcook.train.finetune_st import FinetuneResult, finetune_st
from ragcook.train.generate import generate_questions, read_generated
from ragcook.train.negatives import mine_hard_negatives
from ragcook.train.samples import Sample, write_samples

#: The generated questions for InsuranceQA's test-split answers (first and second pass, with provenance).
RECIPE_FILE = DATA_DIR / "recipe" / "insuranceqa_test.questions.jsonl.gz"
SEED = 13

#: How negatives are chosen: none but the batch's, the source's rule, the hardest, random, or
#: sentence-transformers' miner with a relative margin (NV-Retriever's false-negative filter).
MINERS = {
    "in-batch": "no mined negatives: the other questions' documents in the batch",
    "source": "7 drawn at random from ranks 10-100 of the base model (the source's rule)",
    "hardest": "7 drawn from ranks 1-10 (the hardest, where unlabelled positives hide)",
    "random": "7 drawn at random from the whole corpus",
    "margin": "sentence-transformers' mine_hard_negatives, ranks 10-100, relative margin 0.05",
}


def insuranceqa_chunks(seed: int = SEED) -> list[Chunk]:
    """InsuranceQA's test-split answers (the documents a deployment would index), one chunk each,
    in the seeded order the generation job used: whatever prefix was generated is a random sample."""
    corpus = load_insuranceqa("test").corpus
    ids = sorted(corpus, key=lambda d: int(d[1:]))
    random.Random(seed).shuffle(ids)
    return [Chunk(d, corpus[d], 0, len(corpus[d])) for d in ids]


def load_recipe_rows(path: str | Path = RECIPE_FILE) -> list[dict]:
    """The shipped generation rows (one per document), as :func:`generate_questions` wrote them."""
    if not Path(path).is_file():
        raise RagcookError(f"{path}: missing; regenerate it with `ragcook samples build --data insuranceqa` (llm extra)")
    return read_generated(path)


def question_samples(rows: list[dict], which: str = "first") -> list[Sample]:
    """Q-D samples from cleaned generation rows: ``first`` (first-pass questions), ``best`` (the
    second pass's one question) or ``all`` (both) -> the chunk each was written from."""
    if which not in ("first", "best", "all"):
        raise RagcookError(f"question_samples: which must be first, best or all, got {which!r}")
    out = []
    for r in rows:
        pos = [r.get("positive") or r["chunk"]]
        qs = list(r.get("questions") or []) if which != "best" else []
        if which != "first" and r.get("best"):
            qs = [r["best"], *qs]
        out += [Sample(q, pos) for q in dict.fromkeys(qs)]
    return out


def add_negatives(
    samples: list[Sample], passages: list[str], miner: str, dense: Dense | None = None, n: int = 7, seed: int = SEED
) -> list[Sample]:
    """Samples with ``n`` negatives chosen by ``miner`` (see :data:`MINERS`) from ``passages``."""
    if miner not in MINERS:
        raise RagcookError(f"unknown miner {miner!r}; choose one of {', '.join(MINERS)}")
    if miner == "in-batch":
        return list(samples)
    if miner == "random":
        rng, out = random.Random(seed), []
        for s in samples:
            others = [p for p in passages if p not in s.pos]
            out.append(Sample(s.query, s.pos, rng.sample(others, min(n, len(others)))))
        return out
    if miner == "margin":
        return margin_negatives(samples, passages, dense or Dense(backend=TRAIN_BACKEND), n=n)
    ranks = (10, 100) if miner == "source" else (1, 10)
    return mine_hard_negatives(samples, passages, n=n, ranks=ranks, seed=seed, dense=dense)


def margin_negatives(samples: list[Sample], passages: list[str], dense: Dense, n: int = 7, margin: float = 0.05) -> list[Sample]:
    """sentence-transformers' ``mine_hard_negatives``: ranks 10-100, negatives at least ``margin``
    (relative) below the positive's score, drawn at random; samples it finds too few for are dropped."""
    from datasets import Dataset as HFDataset
    from sentence_transformers.util import mine_hard_negatives as st_mine

    pairs = HFDataset.from_dict({"anchor": [s.query for s in samples], "positive": [s.pos[0] for s in samples]})
    mined = st_mine(
        pairs, dense.model, corpus=list(passages), range_min=10, range_max=100, relative_margin=margin, num_negatives=n,
        sampling_strategy="random", output_format="n-tuple", batch_size=64, verbose=False,
    )  # fmt: skip
    negs = [c for c in mined.column_names if c.startswith("negative")]
    return [Sample(r["anchor"], [r["positive"]], [r[c] for c in negs]) for r in mined]


def false_negative_rate(samples: list[Sample], relevant: list[set[str]]) -> float:
    """Share of mined negatives that are in fact relevant (``relevant[i]``: every correct text of sample i)."""
    drawn = [(neg, rel) for s, rel in zip(samples, relevant) for neg in s.neg]
    return sum(neg in rel for neg, rel in drawn) / max(1, len(drawn))


def run_recipe(
    corpus: str | Path,
    out: str | Path,
    generator,
    model: str = DEFAULT_MODEL,
    chunk_size: int = 192,
    overlap: int = 16,
    limit: int | None = None,
    n_negatives: int = 7,
    max_steps: int = 60,
    batch_size: int = 32,
    seed: int = SEED,
) -> dict:
    """The whole recipe on a corpus (a BEIR folder, its ``corpus.jsonl``, or a folder of text files).

    Writes ``out/questions.jsonl`` (resumable), ``out/samples.jsonl`` and the model in
    ``out/model``; returns what each step produced. Run it again to resume an interrupted run.
    """
    out = Path(out)
    path = Path(corpus)
    docs = read_corpus(path / "corpus.jsonl" if (path / "corpus.jsonl").is_file() else path)
    chunks = chunk_corpus(docs, "recursive", size=chunk_size, overlap=overlap, model=model)
    _say(f"1. {len(docs)} documents -> {len(chunks)} chunks")
    rows = generate_questions(chunks, generator, out / "questions.jsonl", limit=limit)
    _say(f"2-3. questions for {len(rows)} chunks ({sum(1 for r in rows if r.get('error'))} failed)")
    kept, report = clean_generated([r for r in rows if not r.get("error")])
    _say(f"4. {report}")
    samples = question_samples(kept, "all")
    if len(samples) < 2:
        raise RagcookError(f"recipe: only {len(samples)} questions survived cleaning; generate for more chunks")
    dense = Dense(model, show_progress=False, backend=TRAIN_BACKEND)
    passages = [c.text for c in chunks]
    # The source's ranks 10-100 need a corpus of more than 100 chunks; a smaller one gets random negatives.
    miner = "in-batch" if not n_negatives else "source" if len(passages) > 100 else "random"
    n = min(n_negatives, len(passages) - 1)
    samples = add_negatives(samples, passages, miner, dense=dense, n=n, seed=seed)
    write_samples(samples, out / "samples.jsonl")
    _say(f"5. {len(samples)} samples, negatives: {MINERS[miner]}")
    result: FinetuneResult = finetune_st(
        samples, out / "model", base=model, max_steps=max_steps, batch_size=batch_size,
        n_negatives=0 if miner == "in-batch" else n, seed=seed, save_steps=max(1, max_steps // 3),
    )  # fmt: skip
    _say(f"6. fine-tuned in {result.seconds:.0f} s -> {result.path}")
    return {"documents": len(docs), "chunks": len(chunks), "generated": len(rows), "clean": report.as_dict(),
            "samples": len(samples), "miner": miner, "model": str(result.path)}  # fmt: skip


def _say(text: str) -> None:
    print(f"recipe: {text}", file=sys.stderr)
