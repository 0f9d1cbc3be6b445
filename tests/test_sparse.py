"""Learned sparse retrieval: vector format, pruning, search, SPLADE, the BGE-M3-style head, fusion."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from ragcook.encode.sparse import M3Encoder, SpladeEncoder, avg_nonzeros, decode, from_records, to_records
from ragcook.encode.sparse_head import (
    HeadConfig,
    PackedTokens,
    SparseHead,
    fit_head,
    load_sparse_head,
    sparse_head_dir,
    training_history,
)  # fmt: skip
from ragcook.errors import RagcookError
from ragcook.retrieve import REGISTRY, make, rrf, search, top_k
from ragcook.retrieve.fusion import atan_fusion
from ragcook.retrieve.sparse import DenseSparse, SparseRetriever, prune


def test_records_round_trip_and_repeated_token_keeps_max():
    m = from_records([{"indices": [5, 2, 5], "values": [0.5, 1.0, 2.0]}, {"indices": [], "values": []}], dim=8)
    assert m.shape == (2, 8)
    assert m[0, 5] == pytest.approx(2.0) and m[0, 2] == pytest.approx(1.0)
    recs = to_records(m)
    assert recs[0] == {"indices": [2, 5], "values": [1.0, 2.0]}
    assert recs[1] == {"indices": [], "values": []}
    assert avg_nonzeros(m) == 1.0


def test_prune_keeps_heaviest_weights_per_row():
    m = sp.csr_matrix(np.array([[0.1, 0.9, 0.0, 0.5, 0.3], [0.0, 0.2, 0.0, 0.0, 0.0]], dtype=np.float32))
    p = prune(m, 2)
    assert p[0].nonzero()[1].tolist() == [1, 3]
    assert p[1].nnz == 1
    assert prune(m, None).nnz == m.nnz
    with pytest.raises(RagcookError):
        prune(m, 0)


def test_sparse_search_ranks_by_dot_product_and_drops_zero_scores():
    docs = sp.csr_matrix(np.array([[1, 0, 0], [0, 2, 0], [1, 1, 0]], dtype=np.float32))
    q = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1]], dtype=np.float32))
    run = search(q, docs, ["q1", "q2"], ["a", "b", "c"], k=3, positive_only=True)
    assert list(run["q1"]) == ["b", "c"]
    assert run["q1"]["b"] == pytest.approx(2.0)
    assert run["q2"] == {}


@pytest.mark.slow
def test_splade_matches_sentence_transformers_and_expands():
    from sentence_transformers import SparseEncoder

    from ragcook.models import resolve

    texts = ["The capital of France is Paris.", "Does my homeowners insurance cover a flooded basement?"]
    enc = SpladeEncoder()
    m = enc.encode(texts)
    ref = SparseEncoder(str(resolve("splade-tiny")), device="cpu").encode_document(texts).to_dense().numpy()
    np.testing.assert_allclose(m.toarray(), ref, atol=1e-4)
    own = set(enc.tokenizer(texts[0])["input_ids"])
    expanded = [t for t, _ in decode(m[0], enc.tokenizer, top=30) if enc.tokenizer.convert_tokens_to_ids(t) not in own]
    assert expanded, "SPLADE should weigh some tokens the text does not contain"


def _synthetic_feats(n=96, vocab=50, hidden=8, seed=0):
    """Queries and passages that share one 'topic' token (marked by state dim 0) and noise tokens."""
    g = torch.Generator().manual_seed(seed)
    feats_q, feats_p = [], []
    for i in range(n):
        topic = 10 + i % 40
        for bucket in (feats_q, feats_p):
            noise = torch.randint(0, 10, (4,), generator=g)  # common tokens shared by everyone
            ids = torch.cat([torch.tensor([topic]), noise])
            states = torch.randn(5, hidden, generator=g) * 0.1
            states[0, 0] = 1.0  # the informative token
            bucket.append((ids, states))
    return feats_q + feats_p


def test_head_training_learns_to_weigh_informative_tokens():
    feats = _synthetic_feats()
    head, history = fit_head(feats, HeadConfig(epochs=30, batch_size=32, lr=0.05, flops_weight=1e-2))
    assert history[-1]["loss"] < history[0]["loss"]
    with torch.no_grad():
        w = head(torch.stack([f[1] for f in feats[:10]]))
    assert float(w[:, 0].mean()) > float(w[:, 1:].mean())


def test_batch_weights_take_max_over_repeated_tokens():
    head = SparseHead(2)
    with torch.no_grad():
        head.linear.weight[:] = torch.tensor([[1.0, 0.0]])
        head.linear.bias[:] = 0.0
    feats = [
        (torch.tensor([7]), torch.tensor([[5.0, 0.0]])),
        (torch.tensor([3, 3, 4]), torch.tensor([[0.5, 0.0], [2.0, 0.0], [-1.0, 0.0]])),
        (torch.tensor([4, 9]), torch.tensor([[1.5, 0.0], [0.25, 1.0]])),
    ]
    w, vocab = PackedTokens(feats).weights(head, [2, 1])
    assert vocab.tolist() == [3, 4, 9]
    assert w.tolist() == [[0.0, 1.5, 0.25], [2.0, 0.0, 0.0]]


def test_head_loads_bge_m3_sparse_linear(tmp_path):
    lin = torch.nn.Linear(6, 1)
    torch.save(lin.state_dict(), tmp_path / "sparse_linear.pt")
    head = SparseHead.from_bge_m3(tmp_path)
    x = torch.randn(3, 6)
    assert torch.allclose(head(x), torch.relu(lin(x)).squeeze(-1))
    with pytest.raises(RagcookError):
        SparseHead.from_bge_m3(tmp_path / "missing")


@pytest.mark.slow
def test_m3_encoder_gives_dense_and_per_token_sparse_in_one_pass():
    from ragcook.retrieve import Dense

    enc = M3Encoder("minilm", head=SparseHead(384))  # untrained: every token weighs 1
    texts = ["term life insurance", "insurance insurance claim"]
    dense, m = enc.encode(texts)
    np.testing.assert_allclose(dense, Dense("minilm", backend="torch").encode(texts), atol=1e-5)
    ids = enc.tokenizer(texts[1], add_special_tokens=False)["input_ids"]
    assert sorted(m[1].indices.tolist()) == sorted(set(ids))
    assert np.allclose(m[1].data, 1.0)


@pytest.mark.slow
def test_sparse_head_is_cached_and_reloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    cfg = HeadConfig(n_pairs=128, epochs=1, batch_size=64)
    head = load_sparse_head("minilm", cfg)
    assert (sparse_head_dir("minilm", cfg) / "head.pt").is_file()
    assert len(training_history("minilm", cfg)) == 1

    def no_training(*a, **k):
        raise AssertionError("should load from the cache")

    import ragcook.encode.sparse_head as sparse_head_module

    monkeypatch.setattr(sparse_head_module, "train_sparse_head", no_training)
    again = load_sparse_head("minilm", cfg)
    assert again.fingerprint() == head.fingerprint()


def test_dense_sparse_rrf_matches_retrieve_rrf():
    class Fixed:
        def encode(self, texts):
            d = np.eye(3, dtype=np.float32)[: len(texts)]
            s = sp.csr_matrix(np.array([[0, 1, 1], [1, 0, 0], [1, 1, 0]][: len(texts)], dtype=np.float32))
            return d, s

    r = DenseSparse(Fixed(), method="rrf", depth=3).index({"a": "x", "b": "y", "c": "z"})
    dense, sparse = r.runs({"q": "x"}, 3)
    assert r.search({"q": "x"}, k=3) == top_k(rrf([dense, sparse], 60, 3), 3)
    with pytest.raises(RagcookError):
        DenseSparse(Fixed(), method="max")


def test_atan_fusion_is_milvus_weighted_ranker():
    import math

    runs = [{"q": {"a": 1.0, "b": 0.0}}, {"q": {"a": 10.0, "c": 2.0}}]
    fused = atan_fusion(runs, [0.7, 0.3])["q"]
    f = lambda s: 0.5 + math.atan(s) / math.pi  # noqa: E731
    assert fused["a"] == pytest.approx(0.7 * f(1.0) + 0.3 * f(10.0))
    assert fused["b"] == pytest.approx(0.7 * 0.5)  # a missing run adds nothing
    assert fused["c"] == pytest.approx(0.3 * f(2.0))
    with pytest.raises(RagcookError):
        atan_fusion(runs, [1.0])


def test_factories_are_registered_and_check_language():
    for name in ("splade", "sparse-head", "dense+sparse"):
        assert name in REGISTRY
        r = make(name)
        assert r.name == name and hasattr(r, "index") and hasattr(r, "search")
        with pytest.raises(RagcookError):
            make(name, lang="zh")
    with pytest.raises(RagcookError):
        SparseRetriever(SpladeEncoder(), name="splade").search({"q": "x"})


@pytest.mark.slow
def test_mlm_logits_give_splade_weights_and_fill_masks():
    from transformers import pipeline

    from ragcook.encode.sparse import fill_mask, mlm_logits
    from ragcook.models import resolve

    texts = ["Does my policy cover water damage?", "Term life insurance pays a death benefit."]
    logits, mask = mlm_logits(texts)
    assert logits.shape[:2] == mask.shape and logits.shape[2] == 30522
    by_hand = (torch.log1p(torch.relu(logits)) * mask[..., None]).amax(dim=1).numpy()
    np.testing.assert_allclose(by_hand, SpladeEncoder().encode(texts).toarray(), atol=1e-4)

    text = "You can file a [MASK] with your insurance company."
    ours = fill_mask(text, top=3)
    assert len(ours) == 1 and len(ours[0]) == 3
    assert [p for _, p in ours[0]] == sorted((p for _, p in ours[0]), reverse=True)
    theirs = pipeline("fill-mask", model=str(resolve("splade-tiny")), top_k=3)(text)
    tok = SpladeEncoder().tokenizer
    assert tok.convert_tokens_to_ids([t for t, _ in ours[0]]) == [r["token"] for r in theirs]
    assert fill_mask("no mask here") == []
