import numpy as np
import pytest

from ragcook import data, retrieve
from ragcook.errors import ModelNotFound, RagcookError
from ragcook.evaluate import evaluate
from ragcook.models import fingerprint, resolve

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
    assert retrieve.tokenize_zh("汽车保险，赔偿！") == ["汽车保险", "赔偿"] or "，" not in retrieve.tokenize_zh("汽车保险，赔偿！")


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


def test_embedding_cache_hits_and_keys_on_text(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    from ragcook.cache import cached_embeddings

    calls = []

    def fn(texts):
        calls.append(len(texts))
        return np.ones((len(texts), 3), dtype=np.float32)

    texts = [f"t{i}" for i in range(40)]
    cached_embeddings("m", texts, fn)
    cached_embeddings("m", texts, fn)
    cached_embeddings("m", texts[:-1] + ["changed"], fn)
    assert calls == [40, 40]


def test_rrf_and_weighted_fusion():
    a = {"q": {"x": 3.0, "y": 2.0, "z": 1.0}}
    b = {"q": {"z": 10.0, "y": 9.0, "w": 1.0}}
    fused = retrieve.rrf([a, b], k=60)
    assert fused["q"]["y"] == pytest.approx(2 / 62)
    # z is 3rd and 1st: 1/63 + 1/61 edges out y's 2/62; x and w appear in one run only.
    assert sorted(fused["q"], key=fused["q"].get, reverse=True) == ["z", "y", "x", "w"]
    w = retrieve.weighted_fusion([a, b], [1.0, 0.0])
    assert max(w["q"], key=w["q"].get) == "x"
    with pytest.raises(RagcookError):
        retrieve.weighted_fusion([a, b], [1.0])
    with pytest.raises(RagcookError):
        retrieve.Hybrid([], method="max")


def test_registry_names_and_unknown_retriever():
    assert {"bm25", "dense", "hybrid"} <= set(retrieve.available())
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
    dense = retrieve.Dense(show_progress=False)
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
