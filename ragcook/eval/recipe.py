"""Notebook 11's experiments: does the source's recipe work, measured on *real* held-out questions?

Every recipe fine-tunes the same base model with the same step budget, batch and seed; only the
training set changes. Each tuned model is scored per query on three sets nobody trained on:

- ``test``: InsuranceQA's 500 human test questions over the 2,000 answers the LLM wrote
  questions for (a deployment's index, its users' questions);
- ``valid``: InsuranceQA's 300 validation questions over their own 2,000 answers (to choose a
  recipe without looking at test);
- ``pyfaq``: the Python FAQ's 178 human questions (another domain: does tuning make it forget?);
- ``synthetic``: the LLM's own second-pass questions over the same 2,000 answers: what
  LlamaIndex's fine-tuning guide scores on, kept here to show how much it flatters a model
  trained on the first-pass questions of the same documents.

Training and scoring take one to two hours on 2 cores, so the per-query scores are kept in
``data/recipe/experiments.json``; :func:`run_experiments` (``python -m ragcook.eval.recipe``)
rebuilds what is missing, resumably. Tables and plots are computed from those scores.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ragcook import progress
from ragcook.cache import build_once, cache_dir
from ragcook.data import Dataset, load_insuranceqa
from ragcook.data.dataset import DATA_DIR
from ragcook.data.pydoc import load_python_faq
from ragcook.encode.backends import TRAIN_BACKEND
from ragcook.errors import RagcookError
from ragcook.eval.metrics import per_query
from ragcook.eval.stats import paired_test
from ragcook.models import DEFAULT_MODEL
from ragcook.retrieve import Dense
from ragcook.text.chunk import Chunk
from ragcook.train.clean import clean_generated
from ragcook.train.finetune_st import finetune_st
from ragcook.train.generate import ICT
from ragcook.train.recipe import add_negatives, false_negative_rate, load_recipe_rows, question_samples
from ragcook.train.samples import Sample, from_dataset, question_pairs

EXPERIMENTS_FILE = DATA_DIR / "recipe" / "experiments.json"
METRICS = ("ndcg@10", "recall@10", "mrr@10")
SPLITS = ("test", "valid", "pyfaq", "synthetic")


@dataclass(frozen=True)
class Recipe:
    """One training set and the fixed budget every recipe shares."""

    questions: str  # none, human, llm-first, llm-best, llm-all, ict, llm+human, qq
    negatives: str = "in-batch"  # see ragcook.train.recipe.MINERS
    steps: int = 60
    batch_size: int = 32
    lr: float = 1e-4
    max_seq_length: int = 64
    seed: int = 13
    base: str = DEFAULT_MODEL

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


#: The three experiments of the issue, each a list of (label, recipe). Random negatives are
#: measured by :func:`false_negatives` only: a recipe with 7 negatives per sample takes about
#: 25 minutes to train on one core, and the course's one-hour budget ran out before it.
GRID: dict[str, list[tuple[str, Recipe]]] = {
    "questions": [
        ("base model (no tuning)", Recipe("none")),
        ("human train questions", Recipe("human")),
        ("LLM first pass (3 per document)", Recipe("llm-first")),
        ("LLM second pass (1 best)", Recipe("llm-best")),
        ("ICT pseudo-queries (no LLM)", Recipe("ict")),
        ("LLM first pass + human", Recipe("llm+human")),
    ],
    "negatives": [
        ("in-batch only", Recipe("llm-first")),
        ("source: 7 from ranks 10-100", Recipe("llm-first", "source")),
        ("hardest: 7 from ranks 1-10", Recipe("llm-first", "hardest")),
        ("ST miner, relative margin 0.05", Recipe("llm-first", "margin")),
    ],
    "kind": [
        ("Q-Q: train questions sharing an answer", Recipe("qq")),
        ("Q-A: train question -> its answer", Recipe("human")),
        ("Q-D: LLM question -> the indexed document", Recipe("llm-first")),
    ],
}


def eval_sets() -> dict[str, Dataset]:
    """The sets every model is scored on (see the module docstring)."""
    test = load_insuranceqa("test")
    rows, _ = recipe_documents()
    best = {f"s-{r['doc_id']}": (r["best"], r["doc_id"]) for r in rows if r.get("best")}
    synthetic = Dataset(test.corpus, {q: t for q, (t, _) in best.items()}, {q: {d: 1} for q, (_, d) in best.items()},
                        name="insuranceqa/test-synthetic")  # fmt: skip
    return {"test": test, "valid": load_insuranceqa("valid"), "pyfaq": load_python_faq(), "synthetic": synthetic}


def recipe_documents() -> tuple[list[dict], list[str]]:
    """Cleaned generation rows, and the documents they came from (the test corpus, the mining pool)."""
    rows = load_recipe_rows()
    kept, _ = clean_generated([r for r in rows if not r.get("error")])
    return kept, list(load_insuranceqa("test").corpus.values())


def training_samples(recipe: Recipe, dense: Dense) -> list[Sample]:
    """The samples a recipe trains on, negatives included."""
    q = recipe.questions
    if q in ("human", "qq"):
        train = load_insuranceqa("train", profile="small" if q == "human" else "full")
        samples = from_dataset(train) if q == "human" else question_pairs(train)
        pool = list(train.corpus.values()) if q == "human" else list(train.queries.values())
        return add_negatives(samples, pool, recipe.negatives, dense=dense, seed=recipe.seed)
    rows, pool = recipe_documents()
    if q == "ict":
        made = [ICT(seed=recipe.seed)(Chunk(r["doc_id"], r["chunk"], 0, len(r["chunk"]))) for r in rows]
        ict_rows = [{"chunk": r["chunk"], "positive": g.positive, "questions": g.questions, "generator": "ict"}
                    for r, g in zip(rows, made) if g.questions]  # fmt: skip
        samples = question_samples(clean_generated(ict_rows)[0], "first")
    elif q in ("llm-first", "llm-best", "llm-all", "llm+human"):
        samples = question_samples(rows, {"llm-best": "best", "llm-all": "all"}.get(q, "first"))
    else:
        raise RagcookError(f"unknown question set {q!r}")
    samples = add_negatives(samples, pool, recipe.negatives, dense=dense, seed=recipe.seed)
    if q == "llm+human":
        samples += from_dataset(load_insuranceqa("train"))
    return samples


def train(recipe: Recipe, dense: Dense | None = None) -> Path:
    """The model a recipe gives, from the cache or trained (resuming from a checkpoint)."""
    if recipe.questions == "none":
        return Path(recipe.base)
    # a model trained on generated questions is tied to the generation file it read
    tag = "" if recipe.questions in ("human", "qq") else f"-{data_fingerprint()['sha256']}"
    out = cache_dir() / "recipe" / f"{recipe.key}{tag}"

    def build() -> None:
        samples = training_samples(recipe, dense or Dense(recipe.base, show_progress=False, backend=TRAIN_BACKEND))
        n_neg = 0 if recipe.negatives == "in-batch" else min(len(s.neg) for s in samples)
        finetune_st(
            samples, out, base=recipe.base, max_steps=recipe.steps, batch_size=recipe.batch_size, lr=recipe.lr,
            max_seq_length=recipe.max_seq_length, n_negatives=n_neg, seed=recipe.seed, save_steps=max(1, recipe.steps // 3),
        )  # fmt: skip

    build_once(out, lambda: (out / "modules.json").is_file(), build)
    return out


def score(model: str | Path, sets: dict[str, Dataset]) -> dict[str, dict[str, dict[str, float]]]:
    """split -> metric -> {query id: value}, with the model's vectors over each set's corpus."""
    out = {}
    for split, ds in sets.items():
        run = Dense(str(model), show_progress=False, backend=TRAIN_BACKEND).index(ds.corpus).search(ds.queries, k=100)
        out[split] = {m: {q: round(v, 6) for q, v in vals.items()} for m, vals in per_query(ds.qrels, run, METRICS).items()}
    return out


def data_fingerprint() -> dict:
    """What the experiments were trained on: the generation file's rows and a hash of their questions."""
    rows = load_recipe_rows()
    h = hashlib.sha256(json.dumps([[r["chunk_id"], r.get("questions"), r.get("best")] for r in rows]).encode())
    return {"rows": len(rows), "sha256": h.hexdigest()[:16]}


def run_experiments(path: str | Path = EXPERIMENTS_FILE, grid: dict = GRID) -> dict:
    """Train and score every recipe of ``grid`` that ``path`` lacks; save after each (resumable).

    Saved scores made from other generated questions than today's file are thrown away.
    """
    path = Path(path)
    results = load_experiments(path) if path.is_file() else {"recipes": {}}
    if results.get("data") != data_fingerprint():
        results = {"recipes": {}, "data": data_fingerprint()}
    recipes = {r.key: r for runs in grid.values() for _, r in runs}
    sets = eval_sets()
    for key, recipe in progress.bar(list(recipes.items()), desc="recipes"):
        if key in results["recipes"]:
            continue
        t = time.perf_counter()
        model = train(recipe)
        results["recipes"][key] = {"recipe": asdict(recipe), "scores": score(model, sets),
                                   "seconds": round(time.perf_counter() - t, 1)}  # fmt: skip
        _save(path, results)
    results["grid"] = {name: [[label, r.key] for label, r in runs] for name, runs in grid.items()}
    _save(path, results)
    return results


def _save(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(results, indent=0, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def load_experiments(path: str | Path = EXPERIMENTS_FILE) -> dict:
    """The saved per-query scores (see :func:`run_experiments`)."""
    path = Path(path)
    if not path.is_file():
        raise RagcookError(f"{path}: missing; run python -m ragcook.eval.recipe (one to two hours on 2 cores)")
    return json.loads(path.read_text(encoding="utf-8"))


def table(results: dict, experiment: str, split: str = "test"):
    """One row per recipe of an experiment: mean metrics on ``split`` and a paired test of nDCG@10
    against the base model (``vs base``, its 95% interval, ``p_value``; empty for the base itself)."""
    import pandas as pd

    base = results["recipes"][Recipe("none").key]["scores"][split]["ndcg@10"]
    rows = {}
    for label, key in results["grid"][experiment]:
        s = results["recipes"][key]["scores"][split]
        row = {m: sum(s[m].values()) / len(s[m]) for m in METRICS}
        if results["recipes"][key]["recipe"]["questions"] != "none":
            t = paired_test(base, s["ndcg@10"])
            row.update({"vs base": t["diff"], "ci_low": t["ci_low"], "ci_high": t["ci_high"], "p_value": t["p_value"]})
        rows[label] = row
    return pd.DataFrame(rows).T


def verdicts(table, alpha: float = 0.05) -> list[str]:
    """One plain sentence per tuned model of a :func:`table`, read off its paired test."""
    from ragcook.eval.leaderboard import verdicts as say

    return say(table.dropna(subset=["p_value"]).rename(columns={"vs base": "vs the base model"}), "the base model", alpha)


def plot_lift(results: dict, experiment: str = "questions", splits: dict[str, str] | None = None):
    """Horizontal bars: each recipe's change in nDCG@10 over the base model, one colour per evaluation set,
    with the 95% interval of the paired difference."""
    import matplotlib.pyplot as plt
    import numpy as np

    splits = splits or {"test": "InsuranceQA human test questions", "pyfaq": "Python FAQ (another domain)",
                        "synthetic": "the LLM's own questions (synthetic)"}  # fmt: skip
    tables = {name: table(results, experiment, name).dropna(subset=["p_value"]) for name in splits}
    labels = list(next(iter(tables.values())).index)
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(labels) + 1.4), dpi=100)
    h = 0.8 / len(splits)
    for i, (name, t) in enumerate(tables.items()):
        y = np.arange(len(labels)) + (i - (len(splits) - 1) / 2) * h
        err = [t["vs base"] - t["ci_low"], t["ci_high"] - t["vs base"]]
        ax.barh(y, t["vs base"], height=h, xerr=err, capsize=2, label=splits[name], color=f"C{i}")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("change in nDCG@10 over the base model (95% interval of the paired difference)")
    ax.set_title(f"Lift by training set ({experiment}), all-MiniLM-L6-v2, same budget", fontsize=10)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def winner(results: dict | None = None, split: str = "valid") -> tuple[str, Recipe, float]:
    """The trained recipe with the best mean nDCG@10 on ``split`` (validation: never test): its
    label, the recipe, the score. Without saved experiments, the human-question recipe."""
    try:
        results = results or load_experiments()
    except RagcookError:
        return "human train questions (no experiments saved)", Recipe("human"), float("nan")
    labels = {key: label for runs in results.get("grid", {}).values() for label, key in runs}
    scored = [
        (sum(v.values()) / len(v), key) for key, r in results["recipes"].items()
        if r["recipe"]["questions"] != "none" for v in [r["scores"][split]["ndcg@10"]]
    ]  # fmt: skip
    best, key = max(scored)
    return labels.get(key, key), Recipe(**results["recipes"][key]["recipe"]), best


def copied_words(question: str, passage: str) -> float:
    """Share of a question's distinct words (lower-cased, three letters or more) that its passage contains:
    how much a question borrows the wording of the text it was asked about."""
    import re

    words = {w for w in re.findall(r"[a-z0-9]+", question.lower()) if len(w) > 2}
    text = set(re.findall(r"[a-z0-9]+", passage.lower()))
    return len(words & text) / len(words) if words else 0.0


def false_negatives(n_queries: int = 400, seed: int = 13) -> dict[str, float]:
    """Each miner's false-negative rate on InsuranceQA train questions that have several correct answers.

    Each sample keeps one answer as its positive; a negative that is one of the others is a false negative.
    """
    train = load_insuranceqa("train")
    multi = [q for q in train.queries if len(train.qrels.get(q, {})) > 1][:n_queries]
    samples = [Sample(train.queries[q], [train.corpus[sorted(train.qrels[q])[0]]]) for q in multi]
    relevant = [{train.corpus[d] for d in train.qrels[q]} for q in multi]
    pool, dense = list(train.corpus.values()), Dense(show_progress=False, backend=TRAIN_BACKEND)
    return {m: false_negative_rate(add_negatives(samples, pool, m, dense=dense, seed=seed), relevant)
            for m in ("source", "hardest", "random", "margin")}  # fmt: skip


if __name__ == "__main__":  # python -m ragcook.eval.recipe: rebuild data/recipe/experiments.json
    res = run_experiments()
    res["false_negatives"] = false_negatives()
    _save(EXPERIMENTS_FILE, res)
    print(f"{EXPERIMENTS_FILE}: {len(res['recipes'])} recipes")
