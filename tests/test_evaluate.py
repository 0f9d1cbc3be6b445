import math

import numpy as np
import pytest

from ragcook.errors import RagcookError
from ragcook.eval import metrics as ev
from ragcook.eval import stats

QRELS = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
RUN = {"q1": {"x": 0.9, "a": 0.8, "y": 0.7, "b": 0.1}, "q2": {"y": 0.5, "z": 0.4}}


def test_metrics_on_a_hand_worked_example():
    m = ev.evaluate(QRELS, RUN, ["ndcg@10", "recall@2", "recall@10", "mrr@10", "hit@1", "hit@10"])
    # q1: relevant at ranks 2 and 4. DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3). q2: nothing found.
    ndcg_q1 = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert m["ndcg@10"] == pytest.approx(ndcg_q1 / 2, abs=1e-9)
    assert m["recall@2"] == pytest.approx(0.5 / 2)
    assert m["recall@10"] == pytest.approx(1.0 / 2)
    assert m["mrr@10"] == pytest.approx(0.5 / 2)
    assert m["hit@1"] == 0.0 and m["hit@10"] == pytest.approx(0.5)


def test_hand_written_metrics_match_the_library():
    ranked = sorted(RUN["q1"], key=lambda d: -RUN["q1"][d])
    pq = ev.per_query(QRELS, RUN, ["ndcg@10", "mrr@10"])
    assert ev.ndcg_at_k(ranked, QRELS["q1"]) == pytest.approx(pq["ndcg@10"]["q1"], abs=1e-9)
    assert ev.reciprocal_rank(ranked, QRELS["q1"]) == pytest.approx(pq["mrr@10"]["q1"])


def test_missing_query_counts_as_zero():
    m = ev.evaluate(QRELS, {"q1": RUN["q1"]}, ["hit@10"])
    assert m["hit@10"] == pytest.approx(0.5)


def test_ties_are_broken_by_document_id_consistently():
    pq = ev.per_query({"q": {"b": 1}}, {"q": {"a": 1.0, "b": 1.0}}, ["mrr@10"])
    assert pq["mrr@10"]["q"] == pytest.approx(0.5)


def test_unknown_metric_and_empty_qrels():
    with pytest.raises(RagcookError):
        ev.evaluate(QRELS, RUN, ["bleu@4"])
    with pytest.raises(RagcookError):
        ev.evaluate({}, RUN)


def test_paired_test_detects_a_real_difference_and_not_a_null_one():
    rng = np.random.default_rng(0)
    a = {str(i): float(v) for i, v in enumerate(rng.random(200))}
    better = {q: min(1.0, v + 0.2) for q, v in a.items()}
    assert stats.paired_test(a, better)["p_value"] < 0.01
    same = stats.paired_test(a, dict(a))
    assert same["diff"] == 0.0 and same["p_value"] == 1.0
    lo, hi = stats.bootstrap_ci(list(a.values()))
    assert lo < np.mean(list(a.values())) < hi
