"""Samples from InsuranceQA and from generated questions load in sentence-transformers and FlagEmbedding."""

import json

import pytest

from ragcook.errors import DataError
from ragcook.text.chunk import chunk_corpus
from ragcook.train.clean import clean_generated
from ragcook.train.generate import ICT, generate_questions
from ragcook.train.insuranceqa import insuranceqa_samples
from ragcook.train.negatives import mine_hard_negatives
from ragcook.train.samples import (
    Sample,
    question_pairs,
    read_samples,
    samples_from_generated,
    to_st_dataset,
    write_samples,
)

DOCS = {
    "lists": "Lists are mutable sequences, typically used to store collections of homogeneous items. "
    "You can append to a list with the append method. Lists can be sorted in place with sort. "
    "A list comprehension builds a new list from an iterable in one expression.",
    "dicts": "Dictionaries map hashable keys to values. The keys method returns a view of the keys. "
    "Looking up a missing key raises KeyError unless you use the get method with a default. "
    "Dictionaries preserve insertion order since Python 3.7 in every implementation.",
    "errors": "Exceptions are raised with the raise statement and handled with try and except. "
    "The finally clause runs whether or not an exception occurred in the try block. "
    "User-defined exceptions should derive from the Exception class, not from BaseException.",
}


@pytest.fixture(scope="module")
def generated_samples(tmp_path_factory):
    chunks = chunk_corpus(DOCS, "sentences", max_chars=200, overlap=0)
    rows = generate_questions(chunks, ICT(), tmp_path_factory.mktemp("g") / "q.jsonl", show_progress=False)
    kept, report = clean_generated(rows)
    assert report.total == len(rows) - sum(1 for r in rows if not r["questions"])
    samples = samples_from_generated(kept, kind="qd")
    assert samples and all(s.query not in s.pos[0] for s in samples)  # ICT removed the sentence
    pool = [c.text for c in chunks] + [s.pos[0] for s in samples]
    return mine_hard_negatives(samples, pool, n=2, ranks=(1, 5), seed=1)


@pytest.fixture(scope="module")
def insurance_samples():
    return insuranceqa_samples(split="train", n_neg=0, max_queries=12)


def test_insuranceqa_samples(insurance_samples):
    assert len(insurance_samples) == 12
    assert all(s.pos and not s.neg for s in insurance_samples)
    assert insurance_samples == insuranceqa_samples(split="train", n_neg=0, max_queries=12)  # deterministic
    with pytest.raises(DataError, match="kind"):
        insuranceqa_samples(kind="qd", n_neg=0)


def test_question_pairs():
    from ragcook.data import Dataset

    ds = Dataset(
        {"a1": "x", "a2": "y"}, {"q1": "A?", "q2": "A again?", "q3": "B?"}, {"q1": {"a1": 1}, "q2": {"a1": 1}, "q3": {"a2": 1}}
    )
    pairs = question_pairs(ds)
    assert [(s.query, s.pos) for s in pairs] == [("A?", ["A again?"]), ("A again?", ["A?"])]


def test_samples_from_generated_kinds():
    rows = [{"chunk": "C", "questions": ["Q1?", "Q2?"], "best": "B?"}, {"chunk": "D", "questions": ["Q3?"], "best": None}]
    qd = samples_from_generated(rows, "qd")
    assert [(s.query, s.pos) for s in qd] == [("B?", ["C"]), ("Q1?", ["C"]), ("Q2?", ["C"]), ("Q3?", ["D"])]
    qq = samples_from_generated(rows, "qq")
    assert [(s.query, s.pos) for s in qq] == [("B?", ["Q1?", "Q2?"])]
    with pytest.raises(DataError):
        samples_from_generated(rows, "qa")


def test_generated_negatives_are_not_positives(generated_samples):
    for s in generated_samples:
        assert len(s.neg) == 2 and not set(s.neg) & set(s.pos)


@pytest.mark.parametrize("which", ["insurance", "generated"])
def test_load_in_sentence_transformers(which, insurance_samples, generated_samples, tmp_path):
    from sentence_transformers import losses

    from ragcook.models import load_sentence_transformer

    samples = insurance_samples[:4] if which == "insurance" else generated_samples[:4]
    if which == "insurance":
        samples = [Sample(s.query, s.pos, [o.pos[0] for o in insurance_samples if o is not s][:2]) for s in samples]
    path = write_samples(samples, tmp_path / "s.jsonl")
    back = read_samples(path)
    assert back == samples
    ds = to_st_dataset(back, n_negatives=2)
    assert ds.column_names == ["anchor", "positive", "negative_1", "negative_2"]
    assert len(ds) == sum(len(s.pos) for s in samples)
    model = load_sentence_transformer()
    loss = losses.MultipleNegativesRankingLoss(model)
    prep = getattr(model, "preprocess", None) or model.tokenize
    import torch

    with torch.no_grad():
        value = float(loss([prep(ds[c][:4]) for c in ds.column_names], None))
        swapped = ["anchor", "negative_1", "positive", "negative_2"]  # a negative where the positive belongs
        worse = float(loss([prep(ds[c][:4]) for c in swapped], None))
    assert 0 < value < worse  # the loss reads column 2 as the positive: the columns are in its order


@pytest.mark.parametrize("which", ["insurance", "generated"])
def test_load_in_flagembedding(which, insurance_samples, generated_samples, tmp_path):
    from FlagEmbedding.abc.finetune.embedder import AbsEmbedderDataArguments, AbsEmbedderTrainDataset

    from ragcook.models import load_tokenizer

    samples = insurance_samples if which == "insurance" else generated_samples
    samples = [Sample(s.query, s.pos, s.neg or ["an unrelated passage", "another one"]) for s in samples[:5]]
    path = write_samples(samples, tmp_path / "train.jsonl")
    for line in path.read_text().splitlines():
        row = json.loads(line)
        assert set(row) == {"query", "pos", "neg"} and isinstance(row["pos"], list)
    args = AbsEmbedderDataArguments(train_data=[str(path)], train_group_size=3, cache_path=str(tmp_path / "cache"))
    ds = AbsEmbedderTrainDataset(args, load_tokenizer())
    assert len(ds) == len(samples)
    query, passages, _ = ds[0]
    assert query == samples[0].query and passages[0] in samples[0].pos and len(passages) == 3


def test_cli_build_with_ict(tmp_path, capsys):
    from ragcook.cli import main

    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / f"{name}.md").write_text(text, encoding="utf-8")
    out = tmp_path / "s.jsonl"
    args = ["samples", "build", "--corpus", str(corpus), "--generator", "ict", "--chunker", "sentences", "--out", str(out)]
    assert main(args) == 0
    samples = read_samples(out)
    assert samples and "cleaning:" in capsys.readouterr().err
    assert main(args) == 0 and read_samples(out) == samples  # resumed: nothing regenerated, same output
    assert main(["samples", "build", "--corpus", str(tmp_path / "nope"), "--generator", "ict", "--out", str(out)]) == 2
