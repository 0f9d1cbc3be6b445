"""The source's recipe: samples from generated questions, the miners, and the chain on a new BEIR folder."""

import json
from dataclasses import asdict

import numpy as np
import pytest

from ragcook import cli, data
from ragcook.errors import RagcookError
from ragcook.eval import recipe as R
from ragcook.train.recipe import MINERS, add_negatives, false_negative_rate, insuranceqa_chunks, question_samples
from ragcook.train.samples import Sample

ROWS = [
    {"chunk": "C1", "questions": ["a?", "b?"], "best": "a?"},
    {"chunk": "C2", "questions": ["c?"], "best": "d?", "positive": "C2 without a sentence"},
]


def test_question_samples_first_best_all():
    assert [(s.query, s.pos) for s in question_samples(ROWS, "first")] == [
        ("a?", ["C1"]), ("b?", ["C1"]), ("c?", ["C2 without a sentence"])]  # fmt: skip
    assert [s.query for s in question_samples(ROWS, "best")] == ["a?", "d?"]
    assert [s.query for s in question_samples(ROWS, "all")] == ["a?", "b?", "d?", "c?"]  # the best once, first
    with pytest.raises(RagcookError):
        question_samples(ROWS, "second")


class FakeDense:
    """Vectors that put passage i at rank i for every query: ranks are known exactly."""

    def __init__(self, n):
        self.n = n

    def encode(self, texts, prompt="", desc=""):
        if texts and texts[0].startswith("p"):  # passages: p0 scores highest
            return np.array([[1.0, -int(t[1:]) / (self.n + 1)] for t in texts], dtype=np.float32)
        return np.array([[1.0, 0.0]] * len(texts), dtype=np.float32)


def test_miners_draw_from_their_ranks_and_never_a_positive():
    passages = [f"p{i}" for i in range(150)]
    samples = [Sample("q", ["p12"])]
    dense = FakeDense(150)
    rank = {p: i + 1 for i, p in enumerate(passages)}  # p0 is rank 1
    src = add_negatives(samples, passages, "source", dense=dense)[0].neg
    hard = add_negatives(samples, passages, "hardest", dense=dense)[0].neg
    rnd = add_negatives(samples, passages, "random", dense=dense)[0].neg
    assert len(src) == len(hard) == len(rnd) == 7 and "p12" not in src + hard + rnd
    # ranks count after removing the positive: the window 10-100 of the others is p10..p100
    assert all(10 <= rank[p] <= 101 for p in src) and all(rank[p] <= 11 for p in hard)
    assert add_negatives(samples, passages, "random", dense=dense)[0].neg == rnd  # seeded
    assert add_negatives(samples, passages, "in-batch") == samples
    with pytest.raises(RagcookError, match="unknown miner"):
        add_negatives(samples, passages, "smart")
    assert set(MINERS) == {"in-batch", "source", "hardest", "random", "margin"}


def test_false_negative_rate():
    samples = [Sample("q1", ["a"], ["b", "c"]), Sample("q2", ["d"], ["e", "f"])]
    assert false_negative_rate(samples, [{"a", "b"}, {"d"}]) == 0.25


def test_insuranceqa_chunks_are_the_test_corpus_in_a_seeded_order():
    chunks = insuranceqa_chunks()
    corpus = data.load_insuranceqa("test").corpus
    assert sorted(c.doc_id for c in chunks) == sorted(corpus) and chunks == insuranceqa_chunks()
    assert all(c.text == corpus[c.doc_id] and c.start == 0 for c in chunks[:20])
    assert [c.doc_id for c in chunks] != sorted(corpus, key=lambda d: int(d[1:]))


def test_recipe_keys_and_tables():
    a, b = R.Recipe("llm-first"), R.Recipe("llm-first", "source")
    assert a.key != b.key and a.key == R.Recipe("llm-first").key
    qids = [f"q{i}" for i in range(30)]
    base = {q: 0.5 for q in qids}
    better = {q: 0.9 for q in qids}
    scores = lambda v: {"test": {m: dict(v) for m in R.METRICS}}  # noqa: E731
    none, llm = R.Recipe("none"), a
    results = {"recipes": {none.key: {"recipe": asdict(none), "scores": scores(base)},
                           llm.key: {"recipe": asdict(llm), "scores": scores(better)}},
               "grid": {"x": [["base model (no tuning)", R.Recipe("none").key], ["llm", a.key]]}}  # fmt: skip
    t = R.table(results, "x")
    assert t.loc["llm", "ndcg@10"] == pytest.approx(0.9) and t.loc["llm", "vs base"] == pytest.approx(0.4)
    assert t.loc["llm", "p_value"] < 0.01 and np.isnan(t.loc["base model (no tuning)", "vs base"])


@pytest.mark.slow
def test_recipe_chain_on_a_beir_folder_it_has_never_seen(tmp_path, capsys):
    """`ragcook recipe` on a new BEIR folder (ICT, no LLM), then `ragcook eval --model` on its queries."""
    from ragcook.data.pydoc import load_python_faq

    faq = load_python_faq()
    keep = sorted(faq.queries)[:40]
    small = data.Dataset({f"{q}-a": faq.corpus[f"{q}-a"] for q in keep}, {q: faq.queries[q] for q in keep},
                         {q: faq.qrels[q] for q in keep}, name="faq40")  # fmt: skip
    folder = data.save_beir(small, tmp_path / "faq40")
    out = tmp_path / "run"
    args = ["recipe", "--corpus", str(folder), "--out", str(out), "--generator", "ict", "--max-steps", "2",
            "--batch-size", "4", "--negatives", "2"]  # fmt: skip
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "1. 40 documents" in err and "score it: ragcook eval" in err
    assert (out / "model" / "modules.json").is_file() and (out / "samples.jsonl").is_file()
    rows = [json.loads(line) for line in (out / "questions.jsonl").read_text().splitlines()]
    assert rows and all("provenance" in r for r in rows)
    assert cli.main(["eval", "--data", str(folder), "--retriever", "dense", "--model", str(out / "model"),
                     "--out", str(tmp_path / "res")]) == 0  # fmt: skip
    assert "dense" in json.loads((tmp_path / "res" / "results.json").read_text())["results"]


def test_copied_words_counts_the_question_words_found_in_the_passage():
    assert (
        R.copied_words("What does term life insurance cover?", "Term life insurance covers a fixed term.") == 0.5
    )  # term, life, insurance of 6
    assert R.copied_words("Is it?", "anything") == 0.0  # no word of three letters or more
    assert R.copied_words("deductible", "The DEDUCTIBLE applies.") == 1.0
