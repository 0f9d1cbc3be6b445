import numpy as np
import pytest

from ragcook import data, retrieve
from ragcook.errors import ModelNotFound, RagcookError
from ragcook.eval import evaluate
from ragcook.models import fingerprint, resolve
from ragcook.text import tokenize_zh

CORPUS = {
    "d1": "Term life insurance covers you for a fixed period of years.",
    "d2": "Whole life insurance builds cash value over your lifetime.",
    "d3": "Car insurance pays for damage after an accident.",
    "d4": "A deductible is what you pay before the insurer pays.",
}


def test_bm25_ranks_the_word_match_first_and_drops_zero_scores():
    run = retrieve.BM25().index(CORPUS).search({"q": "accident damage"}, k=4)
    assert next(iter(run["q"])) == "d3"
    assert all(s > 0 for s in run["q"].values())


def test_bm25_chinese_uses_jieba_words():
    corpus = {"a": "定期人寿保险在固定年限内提供保障", "b": "汽车保险赔偿事故造成的损失"}
    run = retrieve.BM25(lang="zh").index(corpus).search({"q": "汽车事故"}, k=2)
    assert next(iter(run["q"])) == "b"
    words = tokenize_zh("汽车保险，赔偿！")
    assert "".join(words) == "汽车保险赔偿" and len(words) >= 2  # words, punctuation dropped


def test_search_before_index_is_a_clear_error():
    with pytest.raises(RagcookError, match="index"):
        retrieve.BM25().search({"q": "x"})
    with pytest.raises(RagcookError, match="index"):
        retrieve.Dense().search({"q": "x"})


def test_dense_finds_the_paraphrase_and_matches_numpy(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    d = retrieve.Dense(show_progress=False).index(CORPUS)
    run = d.search({"q": "what happens if I crash my vehicle"}, k=4)
    assert next(iter(run["q"])) == "d3"
    docs = d.encode(list(CORPUS.values()))
    q = d.encode(["what happens if I crash my vehicle"])
    brute = dict(zip(CORPUS, (docs @ q[0]).tolist()))
    assert run["q"] == pytest.approx(brute, abs=1e-5)
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    faiss = retrieve.Dense(show_progress=False, index="faiss").index(CORPUS)
    assert faiss.search({"q": "what happens if I crash my vehicle"}, k=4)["q"] == pytest.approx(run["q"], abs=1e-5)
    twin = d.sharing_model()
    loaded = (lambda r: r.model) if d.backend == "torch" else (lambda r: r.encoder)
    assert loaded(twin) is loaded(d) and twin.doc_vectors is None  # one loaded model, its own index
    with pytest.raises(RagcookError, match="index must be"):
        retrieve.Dense(index="hnsw")


def test_embedding_cache_hits_and_keys_on_text(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    import scipy.sparse as sp

    from ragcook.cache import cached

    calls = []

    def fn(texts):
        calls.append(len(texts))
        return np.ones((len(texts), 3), dtype=np.float32)

    texts = [f"t{i}" for i in range(40)]
    cached("m", texts, fn)
    cached("m", texts, fn)
    cached("m", texts[:-1] + ["changed"], fn)
    assert calls == [40, 40]
    pair = lambda ts: (None, sp.csr_matrix(np.eye(len(ts), 5, dtype=np.float32)))  # noqa: E731
    first = cached("s", texts, pair)
    dense, m = cached("s", texts, lambda ts: 1 / 0)  # read back, not recomputed
    assert dense is None and (m != first[1]).nnz == 0


def test_rrf_and_weighted_fusion():
    a = {"q": {"x": 3.0, "y": 2.0, "z": 1.0}}
    b = {"q": {"z": 10.0, "y": 9.0, "w": 1.0}}
    fused = retrieve.rrf([a, b], k=60)
    assert fused["q"]["y"] == pytest.approx(2 / 62)
    # z is 3rd and 1st: 1/63 + 1/61 edges out y's 2/62; x and w appear in one run only.
    assert sorted(fused["q"], key=fused["q"].get, reverse=True) == ["z", "y", "x", "w"]
    w = retrieve.minmax_fusion([a, b], [1.0, 0.0])
    assert max(w["q"], key=w["q"].get) == "x"
    assert w["q"]["w"] == 0.0  # missing from the first run: its floor, 0
    with pytest.raises(RagcookError):
        retrieve.minmax_fusion([a, b], [1.0])
    with pytest.raises(RagcookError):
        retrieve.Hybrid([], norm="max")


def test_zscore_fusion_and_weighted_rrf():
    a = {"q": {"x": 3.0, "y": 2.0, "z": 1.0}}
    b = {"q": {"z": 10.0, "y": 9.0, "w": 1.0}}
    z = retrieve.fuse([a, b], [0.5, 0.5], norm="zscore")["q"]
    za = (np.array([3.0, 2.0, 1.0]) - 2.0) / np.std([3.0, 2.0, 1.0])
    zb = (np.array([10.0, 9.0, 1.0]) - np.mean([10.0, 9.0, 1.0])) / np.std([10.0, 9.0, 1.0])
    assert z["x"] == pytest.approx(0.5 * za[0] + 0.5 * zb.min())  # x missing from b: b's lowest z
    assert z["z"] == pytest.approx(0.5 * za[2] + 0.5 * zb[0])
    only_b = retrieve.rrf([a, b], k=60, weights=[0.0, 1.0])["q"]
    assert only_b["z"] == pytest.approx(1 / 61) and only_b["x"] == 0.0
    assert retrieve.rrf([a, b], k=60, depth=1)["q"] == pytest.approx({"x": 1 / 61, "z": 1 / 61})
    with pytest.raises(RagcookError, match="normalisation"):
        retrieve.fuse([a], norm="softmax")
    with pytest.raises(RagcookError, match=">= 0"):
        retrieve.fuse([a, b], [1.0, -1.0])


def test_registry_names_and_unknown_retriever():
    assert {"bm25", "dense", "hybrid", "splade"} <= set(retrieve.REGISTRY)
    assert retrieve.make("hybrid", weight=0.7).weights == [pytest.approx(0.3), 0.7]
    with pytest.raises(RagcookError, match="unknown retriever"):
        retrieve.make("tfidf")


def test_models_resolve_bundled_and_reject_missing(tmp_path):
    assert (resolve("minilm") / "config.json").is_file()
    with pytest.raises(ModelNotFound, match="never downloads"):
        resolve(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFound, match="config.json"):
        resolve(tmp_path / "empty")
    assert fingerprint("minilm") == fingerprint("minilm")


def test_metrics_equal_sentence_transformers_evaluator():
    """Our dense run scored by ir-measures == InformationRetrievalEvaluator on the same model."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator

    full = data.load_insuranceqa("test").take(60)
    pos = {d for docs in full.qrels.values() for d in docs}
    keep = sorted(pos) + [d for d in full.corpus if d not in pos][:240]
    corpus = {d: full.corpus[d] for d in keep}
    dense = retrieve.Dense(show_progress=False, backend="torch")  # the evaluator encodes with torch: same vectors
    run = dense.index(corpus).search(full.queries, k=100)
    ours = evaluate(full.qrels, run, ["ndcg@10", "mrr@10", "recall@10", "hit@10"])
    st = InformationRetrievalEvaluator(
        full.queries,
        corpus,
        {q: set(d) for q, d in full.qrels.items()},
        mrr_at_k=[10],
        ndcg_at_k=[10],
        accuracy_at_k=[10],
        precision_recall_at_k=[10],
        map_at_k=[100],
        show_progress_bar=False,
        name="t",
    )(dense.model)
    assert ours["ndcg@10"] == pytest.approx(st["t_cosine_ndcg@10"], abs=1e-6)
    assert ours["mrr@10"] == pytest.approx(st["t_cosine_mrr@10"], abs=1e-6)
    assert ours["recall@10"] == pytest.approx(st["t_cosine_recall@10"], abs=1e-6)
    assert ours["hit@10"] == pytest.approx(st["t_cosine_accuracy@10"], abs=1e-6)


def test_bm25_document_vector_is_sparse_over_the_vocabulary():
    r = retrieve.BM25().index(CORPUS)
    vec = r.document_vector("d3")
    assert 0 < len(vec) < r.vocab_size
    assert "accid" in vec  # stemmed "accident"
    assert list(vec.values()) == sorted(vec.values(), reverse=True)
