"""ragcook.encode.pooling: poolings, one-pass encoding, contextual word vectors, search, anisotropy."""

import numpy as np
import pytest
import torch

from ragcook.encode import pooling as E
from ragcook.errors import RagcookError
from ragcook.eval import poolings as P
from ragcook.retrieve.topk import search

TEXTS = [
    "How much does whole life insurance cost?",
    "Hi",
    "An annuity pays a fixed income for life, unlike a savings account that can run dry. " * 3,
    "保险理赔需要多长时间？",
    "Does renters insurance cover theft from a car?",
]


@pytest.fixture(scope="module")
def enc():
    return E.load_encoder("minilm")


def test_parse_pooling():
    assert E.parse_pooling("mean") == E.Pooling("mean", (-1,), "mean")
    assert E.parse_pooling("CLS").method == "cls"
    assert E.parse_pooling("layer:3").layers == (3,)
    assert E.parse_pooling("last:4").layers == (-4, -3, -2, -1)
    assert E.parse_pooling("first-last").layers == (1, -1)
    assert E.parse_pooling("cls:2") == E.Pooling("cls", (2,), "cls:2")
    for bad in ("avg", "layer:x", "last:0", ""):
        with pytest.raises(RagcookError):
            E.parse_pooling(bad)


def test_pool_masks_padding_and_averages_layers():
    h1 = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [100.0, 100.0]]])  # last token is padding
    h2 = h1 * 3
    mask = torch.tensor([[1, 1, 0]])
    assert torch.allclose(E.pool((h1, h2), mask, "mean"), torch.tensor([[6.0, 3.0]]))
    assert torch.allclose(E.pool((h1, h2), mask, "layer:0"), torch.tensor([[2.0, 1.0]]))
    assert torch.allclose(E.pool((h1, h2), mask, "cls"), torch.tensor([[3.0, 0.0]]))
    assert torch.allclose(E.pool((h1, h2), mask, "max"), torch.tensor([[9.0, 6.0]]))
    assert torch.allclose(E.pool((h1, h2), mask, "last:2"), torch.tensor([[4.0, 2.0]]))
    with pytest.raises(RagcookError, match="layer 5"):
        E.pool((h1, h2), mask, "layer:5")


def test_mean_pooling_equals_sentence_transformers(enc):
    from ragcook.models import load_sentence_transformer

    st = load_sentence_transformer("minilm")
    expected = st.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    got = E.encode(TEXTS, enc, "mean", batch_size=2, cache=False, show_progress=False)  # padding inside batches
    assert got.shape == expected.shape == (len(TEXTS), 384)
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_one_pass_equals_separate_passes(enc):
    many = E.encode_poolings(TEXTS, ["cls", "mean", "layer:2", "first-last"], enc, cache=False, show_progress=False)
    assert list(many) == ["cls", "mean", "layer:2", "first-last"]
    for name in ("cls", "first-last"):
        alone = E.encode(TEXTS, enc, name, batch_size=len(TEXTS), cache=False, show_progress=False)
        assert np.abs(many[name] - alone).max() < 1e-5, name
    assert not np.allclose(many["cls"], many["mean"])
    raw = E.encode_poolings(TEXTS, ["mean"], enc, normalized=False, cache=False, show_progress=False)["mean"]
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)


def test_encode_poolings_cache_roundtrip(enc, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    texts = [f"question number {i} about car insurance" for i in range(40)]  # >= 32: cached
    first = E.encode_poolings(texts, ["cls", "mean"], enc, show_progress=False)
    assert len(list(tmp_path.glob("emb-*.npy"))) == 1
    again = E.encode_poolings(texts, ["cls", "mean"], enc, show_progress=False)
    assert all(np.array_equal(first[k], again[k]) for k in first)


def test_encode_rejects_bad_input(enc):
    with pytest.raises(RagcookError):
        E.encode("one string", enc)
    with pytest.raises(RagcookError):
        E.encode([], enc)
    with pytest.raises(RagcookError, match="layer 9"):
        E.encode(["x"], enc, "layer:9", cache=False)


def test_word_vectors_are_contextual(enc):
    texts = [
        "We had a picnic on the bank of the river.",
        "The river bank was muddy after the flood.",
        "She deposited her salary at the bank.",
        "The bank approved my mortgage loan.",
    ]
    w = E.word_vectors(texts, "bank", enc)
    assert w.shape == (enc.n_layers + 1, 4, 384)
    last = E.cosine_matrix(w[-1])
    same_sense = (last[0, 1] + last[2, 3]) / 2
    cross_sense = last[:2, 2:].mean()
    assert same_sense > cross_sense
    assert last[0, 2] < 0.99  # one word, different vectors: the point of contextual models
    zh = E.word_vectors(["这条河的长度", "孩子长高了"], "长", enc, layers=[-1])
    assert zh.shape == (1, 2, 384)
    with pytest.raises(RagcookError, match="does not occur"):
        E.word_vectors(["Banking is easy."], "bank", enc)


def test_search_and_compare_poolings():
    from ragcook.data import Dataset

    q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    d = np.array([[0.0, 1.0], [1.0, 0.1], [0.7, 0.7]], dtype=np.float32)
    run = search(q, E.normalize(d), ["q1", "q2"], ["a", "b", "c"], k=2)
    assert list(run["q1"]) == ["b", "c"] and list(run["q2"]) == ["a", "c"]
    with pytest.raises(RagcookError):
        search(q, d, ["q1"], ["a", "b", "c"])
    ds = Dataset({"a": "x", "b": "y", "c": "z"}, {"q1": "1", "q2": "2"}, {"q1": {"b": 1}, "q2": {"c": 1}})
    table = P.compare_poolings(ds, {"good": q, "bad": q[::-1].copy()}, {"good": d, "bad": d}, metrics=("mrr@10",))
    assert table.loc["good", "mrr@10"] == pytest.approx(0.75)
    assert table.loc["bad", "mrr@10"] < table.loc["good", "mrr@10"]


def test_random_pair_cosines():
    rng = np.random.default_rng(0)
    iso = P.random_pair_cosines(rng.normal(size=(200, 64)), n_pairs=2000)
    cone = P.random_pair_cosines(rng.normal(size=(200, 64)) + 5.0, n_pairs=2000)
    assert abs(iso.mean()) < 0.05 and cone.mean() > 0.8
    eye = P.random_pair_cosines(np.eye(5), n_pairs=500)
    assert np.allclose(eye, 0.0)  # never a row paired with itself
    with pytest.raises(RagcookError):
        P.random_pair_cosines(np.ones((1, 3)))
