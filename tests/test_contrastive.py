import math

import numpy as np
import pytest
import torch

from ragcook.errors import RagcookError
from ragcook.train import contrastive as C


def test_info_nce_matches_hand_computation():
    q = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    d = torch.tensor([[0.8, 0.6], [0.0, 2.0]])
    t = 0.5
    # by hand: cosine similarities, divide by t, softmax cross-entropy with the diagonal as labels
    qn = q.numpy() / np.linalg.norm(q.numpy(), axis=1, keepdims=True)
    dn = d.numpy() / np.linalg.norm(d.numpy(), axis=1, keepdims=True)
    s = qn @ dn.T / t
    hand = np.mean([-s[i, i] + math.log(np.exp(s[i]).sum()) for i in range(2)])
    assert float(C.info_nce(q, d, t)) == pytest.approx(hand, rel=1e-5)
    assert C.similarity_matrix(q, d, t).shape == (2, 2)
    # swapping the passages makes every pair wrong: the loss must grow
    assert float(C.info_nce(q, d.flip(0), t)) > hand


def test_info_nce_rejects_bad_input():
    q = torch.ones(3, 2)
    with pytest.raises(RagcookError):
        C.info_nce(q, torch.ones(2, 2))
    with pytest.raises(RagcookError):
        C.similarity_matrix(q, q, temperature=0)


def test_triplet_margin_by_hand():
    q = torch.tensor([[1.0, 0.0]])
    pos = torch.tensor([[1.0, 1.0]])  # cos 0.7071
    neg = torch.tensor([[1.0, 0.0]])  # cos 1.0
    assert float(C.triplet_margin(q, pos, neg, margin=0.2)) == pytest.approx(0.2 - 0.70710678 + 1.0, rel=1e-5)
    assert float(C.triplet_margin(q, neg, pos, margin=0.2)) == 0.0


@pytest.fixture(scope="module")
def model():
    from ragcook.models import load_sentence_transformer

    m = load_sentence_transformer("minilm")
    m.max_seq_length = 16
    return m


PAIRS = [
    ("how do I claim", "file a claim form"),
    ("what is a premium", "the price of a policy"),
    ("is my car covered", "auto insurance covers cars"),
]


def test_encode_trap_trains_nothing(model):
    emb = C.embed_the_wrong_way(model, ["a question"])
    assert not emb.requires_grad
    log = C.train(model, PAIRS, steps=1, batch_size=3, encode=C.embed_the_wrong_way)
    assert log.requires_grad is False
    assert "grad" in log.error
    assert log.max_weight_change == 0.0


def test_forward_through_modules_trains(model):
    emb = C.embed(model, ["a question"])
    assert emb.requires_grad
    log = C.train(model, PAIRS, steps=1, batch_size=3, lr=1e-4)
    assert log.requires_grad and not log.error
    assert log.max_weight_change > 0.0
    log = C.train(model, PAIRS, steps=1, batch_size=3, loss="triplet")
    assert len(log.losses) == 1 and log.losses[0] > 0  # random negatives violate the margin at first
    assert log.max_weight_change > 0.0
