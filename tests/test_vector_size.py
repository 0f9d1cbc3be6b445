"""Notebook 14's pieces: truncation, int8 and binary search with rescoring, memory, static models, Matryoshka training."""

import numpy as np
import pytest

from ragcook.errors import RagcookError
from ragcook.retrieve import quantized as Q
from ragcook.retrieve.topk import top_k_indices


def unit(n, dim, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


# --------------------------------------------------------------------------- truncation and memory


def test_truncate_keeps_the_first_dims_and_renormalises():
    v = unit(5, 32) * 3.0
    t = Q.truncate(v, 8)
    assert t.shape == (5, 8)
    assert np.allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-6)
    assert np.allclose(t * np.linalg.norm(v[:, :8], axis=1, keepdims=True), v[:, :8], atol=1e-5)  # same direction
    assert np.allclose(Q.truncate(v, 32), v / 3.0, atol=1e-6)
    assert np.all(Q.truncate(np.zeros((2, 4)), 2) == 0)  # a zero vector stays zero, no NaN
    for bad in (0, 33):
        with pytest.raises(RagcookError):
            Q.truncate(v, bad)


def test_memory_formula():
    assert Q.bytes_per_vector(384, "float32") == 1536
    assert Q.bytes_per_vector(384, "int8") == 384
    assert Q.bytes_per_vector(384, "binary") == 48
    assert Q.bytes_per_vector(12, "binary") == 2  # bits are packed into whole bytes
    assert Q.memory_bytes(1_000_000, 384, "float32") == 1_536_000_000
    assert Q.memory_bytes(1_000_000, 64, "binary") == 8_000_000
    assert Q.memory_bytes(10, 384, "int8") == 10 * 384 + 2 * 384 * 4  # the calibration ranges count too
    with pytest.raises(RagcookError):
        Q.bytes_per_vector(384, "float16")


# --------------------------------------------------------------------------- binary and int8 search


def brute_hamming(query_bits, doc_bits):
    return np.unpackbits(query_bits[:, None, :] ^ doc_bits[None, :, :], axis=-1).sum(axis=-1)


def test_binary_search_equals_a_brute_force_hamming_ranking():
    docs, queries, k = unit(300, 64, seed=1), unit(20, 64, seed=2), 10
    index = Q.build_index(docs, "binary")
    assert index.codes.shape == (300, 8) and index.codes.dtype == np.uint8
    scores, rows = Q.quantized_search(index, queries, k)
    ham = brute_hamming(Q.quantize(queries, "binary"), index.codes)
    expected = np.sort(ham, axis=1)[:, :k]
    assert np.array_equal(64 - 2 * expected, scores)  # score = dim - 2 * hamming
    assert np.array_equal(np.take_along_axis(ham, rows.astype(np.int64), axis=1), expected)
    for q in range(len(queries)):  # where the k-th distance is not tied with the next, the sets agree
        if expected[q, -1] < np.sort(ham[q])[k]:
            assert set(rows[q]) == set(np.argsort(ham[q], kind="stable")[:k])
    # ±1 vectors: the dot product of signs is dim - 2 * hamming
    signs = Q.dequantize(index, index.codes)
    assert np.array_equal(np.sign(docs), signs)


def test_int8_search_ranks_by_the_integer_dot_product_of_codes():
    docs, queries = unit(200, 32, seed=3), unit(10, 32, seed=4)
    index = Q.build_index(docs, "int8")
    assert index.codes.dtype == np.int8 and index.ranges.shape == (2, 32)
    scores, rows = Q.quantized_search(index, queries, 5)
    ints = Q.quantize(queries, "int8", index.ranges).astype(np.int64) @ index.codes.astype(np.int64).T
    assert np.array_equal(np.sort(ints, axis=1)[:, ::-1][:, :5], scores.astype(np.int64))
    # dequantised codes are within half a step of the original numbers
    step = (index.ranges[1] - index.ranges[0]) / 255
    assert np.all(np.abs(Q.dequantize(index, index.codes) - docs) <= step / 2 + 1e-6)


def test_int8_calibration_ranges_come_from_the_calibration_vectors():
    docs = unit(50, 16, seed=5)
    wide = np.vstack([docs, -np.ones((1, 16)), np.ones((1, 16))])
    index = Q.build_index(docs, "int8", calibration=wide)
    assert np.allclose(index.ranges, [[-1] * 16, [1] * 16])
    with pytest.raises(RagcookError):
        Q.quantize(docs, "int8")  # int8 without ranges is refused


def test_rescoring_recovers_the_exact_top_k_when_the_candidates_include_it():
    docs, queries, k = unit(500, 48, seed=6), unit(15, 48, seed=7), 5
    exact = top_k_indices(queries @ docs.T, k)
    rng = np.random.default_rng(0)
    cands = np.stack([rng.permutation(np.concatenate([e, rng.choice(np.setdiff1d(np.arange(500), e), 15, replace=False)]))
                      for e in exact])  # fmt: skip
    scores, ids = Q.rescore(queries, cands, docs[cands], k)
    assert np.array_equal(ids, exact)
    assert np.allclose(scores, np.take_along_axis(queries @ docs.T, exact, axis=1), atol=1e-5)


def test_rescored_binary_search_with_every_candidate_is_the_exact_sign_ranking():
    docs, queries, k = unit(100, 32, seed=8), unit(6, 32, seed=9), 4
    index = Q.build_index(docs, "binary")
    scores, rows = Q.search_rescored(index, queries, k, rescore_multiplier=25)  # 100 candidates: all documents
    assert np.array_equal(rows, top_k_indices(queries @ np.sign(docs).T, k))
    assert np.allclose(scores, np.take_along_axis(queries @ np.sign(docs).T, rows, axis=1), atol=1e-5)


def test_searcher_variants_and_runs():
    docs, queries = unit(60, 16, seed=10), unit(3, 16, seed=11)
    ids = [f"d{i}" for i in range(60)]
    exact = top_k_indices(queries @ docs.T, 5)
    scores, rows = Q.searcher(docs, precision="float32")(queries, 5)
    assert np.array_equal(rows, exact)
    _, rows8 = Q.searcher(docs, dim=8, precision="float32")(queries, 5)
    assert np.array_equal(rows8, top_k_indices(Q.truncate(queries, 8) @ Q.truncate(docs, 8).T, 5))
    run = Q.to_run(scores, rows, ["q0", "q1", "q2"], ids)
    assert list(run["q0"]) == [ids[j] for j in exact[0]]
    assert Q.to_run(np.array([[1.0, 0.0]]), np.array([[3, -1]]), ["q"], ids) == {"q": {"d3": 1.0}}
    with pytest.raises(RagcookError):
        Q.searcher(docs, precision="int4")


# --------------------------------------------------------------------------- static models


def tiny_static_model(dim=8):
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from ragcook.models import resolve

    tok = Tokenizer.from_file(str(resolve("minilm") / "tokenizer.json"))
    vecs = np.random.default_rng(0).standard_normal((tok.get_vocab_size(), dim)).astype(np.float32)
    return StaticModel(vectors=vecs, tokenizer=tok, normalize=True)


def test_static_model_encodes_ignores_word_order_and_is_cached(tmp_path, monkeypatch):
    from ragcook.encode import static as S

    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    calls = []

    def fake_distill(path, pca_dims):
        calls.append((path, pca_dims))
        return tiny_static_model()

    import model2vec.distill

    monkeypatch.setattr(model2vec.distill, "distill", fake_distill)
    path = S.distill_static("minilm", pca_dims=8)
    assert path.parent == tmp_path / "static" and (path / "config.json").is_file()
    assert S.distill_static("minilm", pca_dims=8) == path and len(calls) == 1  # second call: from the cache
    assert S.static_dir("minilm", pca_dims=16) != path  # other settings, other entry
    model = S.load_static(path)
    v = S.encode_static(model, ["dog bites man", "man bites dog", "a claim form"])
    assert v.shape == (3, 8) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.allclose(v[0], v[1], atol=1e-6) and not np.allclose(v[0], v[2])  # an average has no word order
    with pytest.raises(RagcookError):
        S.load_static(tmp_path / "nowhere")


def test_mean_word_vectors():
    from ragcook.encode import static as S
    from ragcook.encode import wordvec as W

    corpus = [["claim", "form", "agent", "policy"], ["policy", "premium", "claim"]] * 20
    wv = W.train(corpus, sg=False, vector_size=6, min_count=1, epochs=1).wv
    v = S.mean_word_vectors(wv, ["Claim policy!", "zzz unknown", "policy claim"])
    assert v.shape == (3, 6)
    assert np.isclose(np.linalg.norm(v[0]), 1.0, atol=1e-5) and not v[1].any()  # no known word: zeros
    expected = (wv["claim"] + wv["policy"]) / np.linalg.norm(wv["claim"] + wv["policy"])
    assert np.allclose(v[0], expected, atol=1e-5) and np.allclose(v[0], v[2])


# --------------------------------------------------------------------------- Matryoshka training


def test_matryoshka_loss_rejects_sizes_the_model_lacks():
    with pytest.raises(RagcookError):
        from ragcook.train.matryoshka import matryoshka_loss

        matryoshka_loss(())


@pytest.mark.slow
def test_tiny_matryoshka_finetune(tmp_path):
    from ragcook.models import load_sentence_transformer
    from ragcook.train.matryoshka import finetune_matryoshka, matryoshka_loss
    from tests.test_finetune import SAMPLES

    base = load_sentence_transformer("minilm")
    loss = matryoshka_loss((384, 64))(base)
    assert type(loss).__name__ == "MatryoshkaLoss" and tuple(loss.matryoshka_dims) == (384, 64)
    with pytest.raises(RagcookError):
        matryoshka_loss((512, 64))(base)
    res = finetune_matryoshka(
        SAMPLES, tmp_path / "m", dims=(384, 64), max_steps=1, batch_size=3, max_seq_length=16, logging_steps=1
    )
    assert (res.path / "modules.json").is_file() and [r["step"] for r in res.log if "loss" in r] == [1]
    assert load_sentence_transformer(res.path).encode(["a question"]).shape == (1, 384)
