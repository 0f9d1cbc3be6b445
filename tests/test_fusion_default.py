"""The fusion-default study (notebook 17): shortfalls against the best single retriever, and the choice."""

import pandas as pd
import pytest

from ragcook.data.dataset import Dataset
from ragcook.eval import fusion


def _corpus(bm25_first: bool) -> tuple[Dataset, dict]:
    """Two queries whose answer one retriever ranks first and the other ranks third."""
    corpus = {d: d for d in ("a", "b", "c", "x", "y")}
    ds = Dataset(corpus, {"q1": "q1", "q2": "q2"}, {"q1": {"a": 1}, "q2": {"b": 1}})
    good = {"q1": {"a": 3.0, "x": 2.0, "y": 1.0}, "q2": {"b": 3.0, "x": 2.0, "y": 1.0}}
    bad = {"q1": {"x": 0.9, "y": 0.8, "a": 0.1}, "q2": {"x": 0.9, "y": 0.8, "b": 0.1}}
    return ds, ({"bm25": good, "dense": bad} if bm25_first else {"bm25": bad, "dense": good})


def test_shortfall_is_measured_against_the_better_single_retriever():
    data = {"bm25 wins": _corpus(True), "dense wins": _corpus(False)}
    grid = [fusion.Setting("minmax", 0.1), fusion.Setting("minmax", 0.9), fusion.Setting("rrf", 0.5, 60)]
    table = fusion.fusion_table(data, grid)
    assert table.loc["bm25 alone", "bm25 wins"] == pytest.approx(1.0)
    assert table.loc["dense alone", "dense wins"] == pytest.approx(1.0)
    s = fusion.shortfalls(table)
    # leaning on one side loses on the corpus where the other side is right
    assert s.loc["minmax, dense 0.9", "bm25 wins"] > 0 and s.loc["minmax, dense 0.1", "dense wins"] > 0
    assert list(s["worst"]) == sorted(s["worst"])
    setting, worst, ok = fusion.choose_default(table, grid)
    assert worst == pytest.approx(s["worst"].min()) and ok == (worst <= 0.005)
    assert setting in grid


def test_a_setting_that_never_falls_behind_is_within_tolerance():
    table = pd.DataFrame(
        {"c1": [0.5, 0.6, 0.61, 0.55], "c2": [0.7, 0.4, 0.70, 0.72]},
        index=["bm25 alone", "dense alone", "zscore, dense 0.7", "rrf k=60, dense 0.5"],
    )
    grid = [fusion.Setting("zscore", 0.7), fusion.Setting("rrf", 0.5, 60)]
    setting, worst, ok = fusion.choose_default(table, grid)
    assert setting == fusion.Setting("zscore", 0.7) and ok and worst == pytest.approx(0.0)


def test_labels_are_unique_across_the_grid():
    labels = [s.label for s in fusion.settings(weights=(0.65, 0.7), rrf_ks=(10, 60))]
    assert len(labels) == len(set(labels))


def test_best_weight_takes_the_best_score_and_breaks_ties_towards_an_even_mix():
    from ragcook.eval.sparse import best_weight

    curve = pd.DataFrame({"weight": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], "ndcg@10": [0.1, 0.5, 0.5, 0.5, 0.5, 0.4]})
    assert best_weight(curve) == 0.4  # 0.4 and 0.6 are equally near 0.5: the lower one
    curve.loc[4, "ndcg@10"] = 0.6
    assert best_weight(curve) == 0.8


def test_choose_fusion_weight_leans_on_the_run_that_is_right():
    from ragcook.errors import RagcookError
    from ragcook.eval.sparse import choose_fusion_weight

    for bm25_first in (True, False):
        ds, runs = _corpus(bm25_first)
        weight, curve = choose_fusion_weight(ds.qrels, runs["bm25"], runs["dense"], grid=[0.0, 0.5, 1.0])
        assert list(curve["weight"]) == [0.0, 0.5, 1.0]
        assert curve["ndcg@10"].max() == pytest.approx(1.0)
        assert weight == (0.0 if bm25_first else 1.0)  # the weight is on dense
    with pytest.raises(RagcookError, match="unknown method"):
        choose_fusion_weight(ds.qrels, runs["bm25"], runs["dense"], norm="mean")
