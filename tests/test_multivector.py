"""Multi-vector retrieval: MaxSim by hand against the library, exact search, BGE-M3's "all" weights, caching."""

import numpy as np
import pytest
import torch
from sentence_transformers.util.similarity import maxsim as library_maxsim

from ragcook import cache
from ragcook.data import Dataset
from ragcook.encode.multivector import MultiVectorModel, TokenVectors, from_list, is_multivector_folder, load_multivector
from ragcook.errors import RagcookError
from ragcook.eval.multivector import choose_weights, explain_maxsim, index_row, mode_runs, simplex_grid, weighted_run
from ragcook.io import read_jsonl
from ragcook.retrieve.multivector import MultiVector, maxsim, maxsim_scores, rerank_scores, weighted_modes
from ragcook.train import multivector as train_mv


def unit_rows(rng, n, dim=8):
    m = rng.normal(size=(n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def ragged(rng, lengths, dim=8):
    return [unit_rows(rng, n, dim) for n in lengths]


def test_maxsim_by_hand_equals_the_library():
    rng = np.random.default_rng(0)
    queries, docs = ragged(rng, [3, 1, 5]), ragged(rng, [4, 2, 7, 1])
    lib = library_maxsim([torch.from_numpy(q) for q in queries], [torch.from_numpy(d) for d in docs]).numpy()
    by_hand = np.array([[maxsim(q, d) for d in docs] for q in queries])
    np.testing.assert_allclose(by_hand, lib, rtol=1e-5, atol=1e-6)
    # The blocked matrix version, with blocks small enough to split queries and documents.
    blocked = maxsim_scores(from_list(queries), from_list(docs), query_tokens=4, block=10)
    np.testing.assert_allclose(blocked, lib, rtol=1e-5, atol=1e-6)
    mean = maxsim_scores(from_list(queries), from_list(docs), mean=True)
    np.testing.assert_allclose(mean, lib / np.array([[3], [1], [5]]), rtol=1e-5, atol=1e-6)


def test_maxsim_is_a_sum_of_best_matches():
    q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    d = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    assert maxsim(q, d) == pytest.approx(1.0 + 0.8)  # token 1 matches d_1 exactly, token 2 best matches d_2


def test_maxsim_scores_rejects_mismatched_or_empty_inputs():
    rng = np.random.default_rng(1)
    with pytest.raises(RagcookError):
        maxsim_scores(from_list(ragged(rng, [2], 4)), from_list(ragged(rng, [2], 8)))
    empty = TokenVectors(np.zeros((2, 8), np.float32), np.array([0, 0, 2]))
    with pytest.raises(RagcookError):
        maxsim_scores(from_list(ragged(rng, [2])), empty)


class FakeEncoder:
    """Token vectors chosen by the test instead of a model."""

    def __init__(self, vectors: dict[str, np.ndarray]):
        self.vectors = vectors

    def encode_documents(self, texts):
        return from_list([self.vectors[t] for t in texts])

    encode_queries = encode_documents


def test_search_returns_the_exact_maxsim_ranking_and_rerank_keeps_only_candidates():
    rng = np.random.default_rng(2)
    corpus = {f"d{i}": f"doc {i}" for i in range(12)}
    queries = {"q0": "query 0", "q1": "query 1"}
    vectors = {
        t: m for t, m in zip([*corpus.values(), *queries.values()], ragged(rng, [3, 5, 2, 6, 4, 1, 7, 2, 3, 5, 4, 2, 3, 4]))
    }
    run = MultiVector(FakeEncoder(vectors)).index(corpus).search(queries, k=5)
    for qid, text in queries.items():
        expected = sorted(corpus, key=lambda d: -maxsim(vectors[text], vectors[corpus[d]]))[:5]
        assert list(run[qid]) == expected
        assert run[qid][expected[0]] == pytest.approx(maxsim(vectors[text], vectors[corpus[expected[0]]]), rel=1e-5)
    first = {"q0": {"d3": 1.0, "d7": 0.5, "d1": 0.2, "d9": 0.1}, "q1": {"d0": 1.0}}
    reranked = MultiVector(FakeEncoder(vectors)).index(corpus).rerank(queries, first, k=5, depth=3)
    assert set(reranked["q0"]) == {"d3", "d7", "d1"} and list(reranked["q1"]) == ["d0"]
    assert list(reranked["q0"]) == sorted(["d3", "d7", "d1"], key=lambda d: -maxsim(vectors["query 0"], vectors[corpus[d]]))
    scores = rerank_scores(from_list([vectors["query 1"]]), from_list([vectors[t] for t in corpus.values()]), [np.array([4])])
    assert np.isinf(scores).sum() == len(corpus) - 1


def test_simplex_grid_covers_the_simplex():
    grid = simplex_grid(0.1)
    assert len(grid) == 66  # C(10 + 2, 2)
    assert len(set(grid)) == len(grid)
    assert all(min(w) >= 0 and abs(sum(w) - 1) < 1e-9 for w in grid)
    assert {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (0.5, 0.5, 0.0), (0.2, 0.3, 0.5)} <= set(grid)
    assert len(simplex_grid(0.5, n=2)) == 3
    with pytest.raises(RagcookError):
        simplex_grid(0.3)


def test_weighted_modes_is_compute_scores_formula():
    s = {"dense": np.array([[0.5]]), "sparse": np.array([[10.0]]), "multi-vector": np.array([[0.7]])}
    w = {"dense": 0.4, "sparse": 0.2, "multi-vector": 0.4}
    assert weighted_modes(s, w)[0, 0] == pytest.approx((0.4 * 0.5 + 0.2 * 10 + 0.4 * 0.7) / 1.0)
    assert weighted_modes(s, {"dense": 2.0, "sparse": 0.0, "multi-vector": 2.0})[0, 0] == pytest.approx(0.6)
    with pytest.raises(RagcookError):
        weighted_modes(s, {"dense": 0.0, "sparse": 0.0, "multi-vector": 0.0})
    with pytest.raises(RagcookError):
        weighted_modes({"dense": s["dense"]}, {"dense": 1.0, "sparse": 1.0})


def test_choose_weights_picks_the_only_mix_that_ranks_every_query_right():
    # Two documents per query; the relevant one is "a". Mode A alone ranks q2 wrong, mode B alone ranks
    # q1 wrong, and an equal mix ranks both right, so the grid must pick a point strictly inside.
    ds = Dataset({"a": "a", "b": "b"}, {"q1": "1", "q2": "2"}, {"q1": {"a": 1}, "q2": {"a": 1}})
    scores = {"A": np.array([[1.0, 0.0], [0.0, 0.4]]), "B": np.array([[0.0, 0.4], [1.0, 0.0]])}
    best, table = choose_weights(scores, ds, simplex_grid(0.1, n=2), modes=("A", "B"))
    assert 0.3 <= best[0] <= 0.7 and table.iloc[0]["ndcg@10"] == pytest.approx(1.0)
    assert table["ndcg@10"].is_monotonic_decreasing and len(table) == 11


def test_mode_runs_and_weighted_run_rank_by_the_weighted_mean():
    ds = Dataset({"a": "a", "b": "b", "c": "c"}, {"q": "q"}, {"q": {"a": 1}})
    scores = {"dense": np.array([[0.9, 0.1, 0.5]]), "sparse": np.array([[0.0, 8.0, 1.0]])}
    runs = mode_runs(scores, ds)
    assert list(runs["dense"]["q"]) == ["a", "c", "b"] and list(runs["sparse"]["q"]) == ["b", "c", "a"]
    # b: 0.09 + 0.8 beats a: 0.81 + 0, the sparse score's raw scale matters
    assert list(weighted_run(scores, ds, (0.9, 0.1))["q"]) == ["b", "a", "c"]
    assert list(weighted_run(scores, ds, (1.0, 0.0))["q"]) == ["a", "c", "b"]


def test_index_row_counts_bytes():
    row = index_row("dense", n_docs=10, vectors=10, dim=384)
    assert row["MB"] == pytest.approx(10 * 384 * 4 / 1e6) and row["bytes / doc"] == 384 * 4


def test_token_vectors_round_trip_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    monkeypatch.delenv("RAGCOOK_NO_CACHE", raising=False)
    rng = np.random.default_rng(3)
    texts = [f"text {i}" for i in range(40)]
    calls = []

    def compute(batch):
        calls.append(len(batch))
        return from_list(ragged(rng, [1 + i % 5 for i in range(len(batch))])).to_arrays()

    first = cache.cached("test-multivector", texts, compute)
    second = cache.cached("test-multivector", texts, compute)
    assert calls == [40]
    assert set(second) == {"vectors", "offsets"}
    np.testing.assert_array_equal(first["vectors"], second["vectors"])
    np.testing.assert_array_equal(first["offsets"], second["offsets"])
    tv = TokenVectors(second["vectors"], second["offsets"])
    assert len(tv) == 40 and tv[2].shape == (3, 8) and tv.n_vectors == sum(1 + i % 5 for i in range(40))
    assert tv.take([2, 0]).lengths().tolist() == [3, 1]


def test_untrained_model_gives_unit_token_vectors_scored_like_the_library():
    enc = MultiVectorModel("minilm")
    q = enc.encode_queries(["does life insurance cover suicide"])
    d = enc.encode_documents(["Most life insurance policies exclude suicide for two years.", "Car insurance covers cars."])
    assert q.dim == 384 and len(d) == 2
    np.testing.assert_allclose(np.linalg.norm(d.vectors, axis=1), 1.0, atol=1e-5)
    assert q.n_vectors == len(enc.tokens("does life insurance cover suicide", task="query"))
    lib = enc.model.similarity([torch.from_numpy(q[0])], [torch.from_numpy(d[0]), torch.from_numpy(d[1])]).numpy()
    np.testing.assert_allclose(maxsim_scores(q, d), lib, rtol=1e-4)
    assert maxsim(q[0], d[0]) > maxsim(q[0], d[1])
    why = explain_maxsim(enc, "does life insurance cover suicide", "Most life insurance policies exclude suicide.")
    assert list(why["query token"])[:3] == ["[CLS]", "does", "life"] and "suicide" in set(why["best document token"])
    assert why["cos"].sum() == pytest.approx(
        maxsim_scores(
            enc.encode_queries(["does life insurance cover suicide"]),
            enc.encode_documents(["Most life insurance policies exclude suicide."]),
        )[0, 0],
        rel=1e-5,
    )
    projected = load_multivector("minilm", project=True, dim=16)
    assert projected.get_embedding_dimension() == 16


def test_ensure_multivector_trains_on_a_miss_only(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    trained = []

    def fake_train(config, out):
        trained.append(config)
        (out / "config_sentence_transformers.json").parent.mkdir(parents=True, exist_ok=True)
        (out / "config_sentence_transformers.json").write_text('{"model_type": "MultiVectorEncoder"}')
        return {}

    monkeypatch.setattr(train_mv, "train_multivector", fake_train)
    cfg = train_mv.MultiVectorConfig(max_steps=3)
    path = train_mv.ensure_multivector(cfg)
    assert is_multivector_folder(path) and path == train_mv.multivector_dir(cfg)
    assert train_mv.ensure_multivector(cfg) == path and len(trained) == 1
    assert train_mv.multivector_dir(train_mv.MultiVectorConfig(max_steps=4)) != path  # other settings, other model
    (path / "config_sentence_transformers.json").unlink()  # a damaged entry is a miss
    train_mv.ensure_multivector(cfg)
    assert len(trained) == 2 and not list(path.parent.glob(".*tmp"))


def test_train_multivector_saves_a_model_that_encodes(tmp_path):
    cfg = train_mv.MultiVectorConfig(n_queries=8, n_neg=0, max_steps=2, batch_size=4, dim=16, query_length=8, document_length=16)
    summary = train_mv.train_multivector(cfg, tmp_path / "mv")
    assert summary["train_rows"] >= 8 and is_multivector_folder(tmp_path / "mv")
    assert [r["step"] for r in read_jsonl(tmp_path / "mv" / "loss.jsonl") if "loss" in r] == [2]
    vecs = MultiVectorModel(tmp_path / "mv").encode_documents(["Term life insurance covers a fixed period."])
    assert vecs.dim == 16
    np.testing.assert_allclose(np.linalg.norm(vecs.vectors, axis=1), 1.0, atol=1e-5)


def test_index_table_counts_each_index_and_their_sum():
    import scipy.sparse as sp

    from ragcook.eval.multivector import index_table
    from ragcook.retrieve.multivector import ThreeModes

    rng = np.random.default_rng(4)
    multi = MultiVector(FakeEncoder({}))
    multi.docs = from_list(ragged(rng, [3, 5], dim=8))
    modes = ThreeModes(m3=None, multi=multi)
    modes.doc_ids = ["a", "b"]
    modes.doc_dense = np.zeros((2, 16), np.float32)
    modes.doc_sparse = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 0, 3.0]], np.float32))
    table = index_table(modes)
    assert table.loc["dense", "MB"] == pytest.approx(2 * 16 * 4 / 1e6)
    assert table.loc["sparse", "vectors"] == 3 and table.loc["sparse", "MB"] == pytest.approx((3 * 8 + 3 * 4) / 1e6)
    assert table.loc["multi-vector", "vectors / doc"] == 4 and table.loc["multi-vector", "MB"] == pytest.approx(8 * 8 * 4 / 1e6)
    assert table.loc["all three", "MB"] == pytest.approx(table["MB"].iloc[:3].sum())
    with pytest.raises(RagcookError):
        index_table(ThreeModes(m3=None, multi=MultiVector(FakeEncoder({}))))
