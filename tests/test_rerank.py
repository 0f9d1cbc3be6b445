"""Reranking: a cross-encoder reorders a first stage's top documents; its training and its caches."""

import numpy as np
import pytest

from ragcook.errors import RagcookError
from ragcook.eval.rerank import hit_rates, reranked_runs
from ragcook.retrieve.rerank import CrossEncoderScorer, Rerank, pair_scores, rerank_run
from ragcook.train import cross_encoder as C
from ragcook.train.samples import Sample

FIRST = {"q1": {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6}, "q2": {"e": 0.5, "f": 0.4}}
SCORES = {"q1": {"a": 0.1, "b": 0.5, "c": 0.3, "d": 0.9}, "q2": {"e": -1.0, "f": 2.0}}


def test_rerank_orders_the_head_by_cross_encoder_scores_and_keeps_ids():
    run = rerank_run(FIRST, SCORES, depth=3, k=4)
    assert list(run["q1"]) == ["b", "c", "a", "d"]  # d was below the depth: it stays last
    assert run["q1"]["b"] == 0.5 and run["q1"]["d"] < min(run["q1"][x] for x in "abc")
    assert list(run["q2"]) == ["f", "e"]
    assert set(run["q1"]) == set(FIRST["q1"]) and set(run["q2"]) == set(FIRST["q2"])


def test_depth_below_k_keeps_the_tail_in_first_stage_order_and_k_cuts():
    run = rerank_run(FIRST, SCORES, depth=2, k=4)
    assert list(run["q1"]) == ["b", "a", "c", "d"]
    assert run["q1"]["c"] > run["q1"]["d"]  # the tail's scores keep its order
    assert list(rerank_run(FIRST, SCORES, depth=4, k=2)["q1"]) == ["d", "b"]


def test_ties_keep_the_first_stage_order_and_missing_scores_fail():
    tied = {"q1": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}, "q2": {"e": 0.0, "f": 0.0}}
    assert list(rerank_run(FIRST, tied, depth=4, k=4)["q1"]) == ["a", "b", "c", "d"]
    with pytest.raises(RagcookError, match="no score"):
        rerank_run(FIRST, {"q1": {"a": 1.0}}, depth=2, k=2)


class FirstStage:
    """A stand-in first stage: returns FIRST, cut to k."""

    def index(self, corpus):
        self.corpus = corpus
        return self

    def search(self, queries, k=10):
        return {q: dict(list(FIRST[q].items())[:k]) for q in queries}


def test_rerank_retriever_scores_only_depth_pairs():
    seen = []

    def scorer(pairs):
        seen.extend(pairs)
        return np.array([float(len(p)) for _, p in pairs])  # longer passage = better

    corpus = {"a": "x", "b": "xxx", "c": "xx", "d": "xxxxxx", "e": "y", "f": "yy"}
    queries = {"q1": "first", "q2": "second"}
    ret = Rerank(FirstStage(), scorer, depth=3).index(corpus)
    run = ret.search(queries, k=4)
    assert list(run["q1"]) == ["b", "c", "a", "d"] and list(run["q2"]) == ["f", "e"]
    assert len(seen) == 5 and ("first", "xxxxxx") not in seen
    with pytest.raises(RagcookError):
        Rerank(FirstStage(), scorer, depth=0)
    with pytest.raises(RagcookError):
        Rerank(FirstStage(), scorer).search(queries)
    with pytest.raises(RagcookError):
        pair_scores(FIRST, queries, corpus, scorer, depth=0)


def test_reranked_runs_scores_pairs_once_at_the_deepest_depth():
    from ragcook.data import Dataset

    calls = []

    def scorer(pairs):
        calls.append(len(pairs))
        return np.array([float(len(p)) for _, p in pairs])

    corpus = {"a": "x", "b": "xxx", "c": "xx", "d": "xxxxxx", "e": "y", "f": "yy"}
    ds = Dataset(corpus, {"q1": "first", "q2": "second"}, {"q1": {"b": 1}, "q2": {"f": 1}})
    runs = reranked_runs(ds, FIRST, scorer, depths=(2, 4), k=4)
    assert calls == [6] and set(runs) == {2, 4}
    assert list(runs[4]["q1"]) == ["d", "b", "c", "a"] and list(runs[2]["q1"]) == ["b", "a", "c", "d"]
    table = hit_rates(ds.qrels, {"first": FIRST, "top 2": runs[2]}, ks=(1, 2))
    assert table.loc["first", "top 1"] == 0.0 and table.loc["top 2", "top 1"] == 1.0
    assert list(table.columns) == ["top 1", "top 2"]


def test_labelled_pairs_and_bad_loss():
    q, p, y = C.labelled_pairs([Sample("q", ["p1", "p2"], ["n1"])])
    assert q == ["q", "q", "q"] and p == ["p1", "p2", "n1"] and y == [1, 1, 0]
    with pytest.raises(RagcookError, match="loss"):
        C.train_cross_encoder([Sample("q", ["p"], ["n"])], "unused", C.CrossEncoderConfig(loss="nope"))


SAMPLES = [
    Sample("how do I file a claim", ["call your agent and fill in the claim form"], ["premiums are paid monthly"]),
    Sample("what is a deductible", ["the amount you pay before insurance pays"], ["life insurance pays a death benefit"]),
    Sample("does home insurance cover floods", ["floods need a separate flood policy"], ["cars need auto insurance"]),
]
TINY = dict(n_queries=8, n_neg=1, ranks=(1, 5), max_steps=2, batch_size=4, max_length=32)


@pytest.mark.slow
def test_tiny_training_resumes_and_scores_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path / "cache"))
    cfg = C.CrossEncoderConfig(**TINY)
    out = tmp_path / "ce"
    res = C.train_cross_encoder(SAMPLES, out, cfg, save_steps=1, keep_checkpoints=True, logging_steps=1)
    assert [r["step"] for r in res.log if "loss" in r] == [1, 2] and (out / "loss.png").is_file()
    res2 = C.train_cross_encoder(SAMPLES, str(out), C.CrossEncoderConfig(**{**TINY, "max_steps": 3}), logging_steps=1)  # a str
    assert res2.resumed_from.endswith("checkpoint-2")
    assert [r["step"] for r in res2.log if "loss" in r] == [1, 2, 3]

    scorer = CrossEncoderScorer(out)
    pairs = [(s.query, t) for s in SAMPLES for t in s.pos + s.neg] * 6  # 36 pairs: enough to be cached
    first = scorer(pairs)
    assert first.shape == (36,) and np.isfinite(first).all()
    np.testing.assert_allclose(first, scorer.predict(pairs), atol=1e-5)
    monkeypatch.setattr(scorer, "predict", lambda p: (_ for _ in ()).throw(AssertionError("cache missed")))
    np.testing.assert_allclose(scorer(pairs), first)


@pytest.mark.slow
def test_ensure_cross_encoder_trains_once_then_reuses_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path))
    monkeypatch.setattr(C, "training_samples", lambda config: SAMPLES)
    cfg = C.CrossEncoderConfig(**TINY)
    path = C.ensure_cross_encoder(cfg)
    assert path == C.cross_encoder_dir(cfg) and (path / "ragcook.json").is_file()
    assert not (path / "checkpoints").exists()

    def no_training(*a, **k):
        raise AssertionError("should come from the cache")

    monkeypatch.setattr(C, "train_cross_encoder", no_training)
    assert C.ensure_cross_encoder(cfg) == path
    assert C.cross_encoder_dir(C.CrossEncoderConfig(**{**TINY, "lr": C.CrossEncoderConfig().lr / 2})) != path


def test_top1_changes_counts_fixed_and_broken_questions():
    from ragcook.eval.rerank import top1_changes

    qrels = {"q1": {"b": 1}, "q2": {"e": 1}, "q3": {"x": 1}}
    after = rerank_run(FIRST, SCORES, depth=3, k=4)  # q1: b first (fixed); q2: f first (broken)
    assert top1_changes(qrels, FIRST, after) == {"fixed": ["q1"], "broken": ["q2"]}


def test_lift_reports_a_paired_difference_per_metric():
    from ragcook.data import Dataset
    from ragcook.eval.rerank import lift

    corpus = {d: d for d in "abcdef"}
    ds = Dataset(corpus, {"q1": "first", "q2": "second"}, {"q1": {"b": 1}, "q2": {"f": 1}})
    runs = {"first": FIRST, "reranked": rerank_run(FIRST, SCORES, depth=4, k=4)}
    t = lift(ds, runs, "first")
    assert list(t.index) == ["first", "reranked"]
    assert t.loc["reranked", "mrr@10"] > t.loc["first", "mrr@10"]
    assert t.loc["reranked", "mrr@10 vs first"] == pytest.approx(t.loc["reranked", "mrr@10"] - t.loc["first", "mrr@10"])
    assert {"ndcg@10 p", "mrr@10 p"} <= set(t.columns)


def test_exercise_checkers_reject_wrong_answers():
    from ragcook.exercises import check

    with pytest.raises(AssertionError, match="top 3"):
        check("13.1", lambda ranking, scores, depth: sorted(ranking, key=lambda d: -scores[d]))  # reorders everything
    with pytest.raises(AssertionError, match="min-max"):
        check("13.2", lambda first, cross, alpha: {d: alpha * cross[d] + (1 - alpha) * first[d] for d in first})  # raw


def test_new_cross_encoder_puts_its_head_on_the_mean_or_on_cls():
    mean = C.new_cross_encoder("minilm", 32, "mean")
    cls = C.new_cross_encoder("minilm", 32, "cls")
    assert [type(m).__name__ for m in mean] == ["Transformer", "Pooling", "Dense"]
    assert mean[1].pooling_mode == "mean" and mean[2].out_features == 1
    assert len(cls) == 1 and cls.num_labels == 1  # AutoModelForSequenceClassification: pooler + classifier on [CLS]
    pairs = [("what is a deductible", "the amount you pay before insurance pays"), ("q", "premiums")]
    assert mean.predict(pairs).shape == (2,) and cls.predict(pairs).shape == (2,)
    with pytest.raises(RagcookError, match="pooling"):
        C.new_cross_encoder("minilm", 32, "max")


def test_train_cross_encoder_refuses_a_bad_pooling_before_it_makes_a_folder(tmp_path):
    samples = [Sample("what is a deductible", ["the amount you pay first"], ["premiums are monthly"])]
    with pytest.raises(RagcookError, match="pooling"):
        C.train_cross_encoder(samples, tmp_path / "ce", C.CrossEncoderConfig(pooling="max"))
    assert not (tmp_path / "ce").exists()


@pytest.mark.slow
@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_exported_cross_encoder_scores_pairs_as_torch_does(tmp_path, monkeypatch, pooling):
    """Both builds (head on the mean, classic [CLS] classifier) export with their head: one raw score per pair."""
    pytest.importorskip("onnxruntime")
    from scipy.stats import spearmanr

    from ragcook.eval.rerank import backend_agreement

    monkeypatch.setenv("RAGCOOK_CACHE", str(tmp_path / "cache"))
    C.new_cross_encoder("minilm", 48, pooling).save_pretrained(str(tmp_path / "ce"))
    pairs = [(s.query, t) for s in SAMPLES for t in s.pos + s.neg]
    pairs += [("a long question " * 20, "a longer passage " * 40)]  # cut to 48 tokens together, longest first
    torch_scores = CrossEncoderScorer(tmp_path / "ce", backend="torch").predict(pairs)
    fp32 = CrossEncoderScorer(tmp_path / "ce", backend="onnx", batch_size=4).predict(pairs)  # batches cross lengths
    assert fp32.shape == (len(pairs),) and fp32.dtype == np.float32
    np.testing.assert_allclose(fp32, torch_scores, atol=1e-4)
    int8 = CrossEncoderScorer(tmp_path / "ce")  # the default: int8 weights
    assert int8.backend == "onnx-int8-mixed" and not np.allclose(int8.predict(pairs), torch_scores, atol=1e-5)
    assert spearmanr(int8.predict(pairs), torch_scores).statistic > 0.8
    queries, corpus = {"q": SAMPLES[0].query}, {str(i): t for i, (_, t) in enumerate(pairs)}
    both = backend_agreement(int8, CrossEncoderScorer(tmp_path / "ce", backend="onnx"), queries, corpus,
                             {"q": {d: -float(d) for d in corpus}}, depth=5)  # fmt: skip
    assert both["pairs"] == 5 and -1 <= both["spearman"] <= 1 and both["same_top1"] in (0, 1)
