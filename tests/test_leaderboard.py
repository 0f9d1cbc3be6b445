import time

import pytest

from ragcook.data import Dataset
from ragcook.eval import leaderboard


def make():
    qids = [f"q{i}" for i in range(40)]
    ds = Dataset({"a": "x", "b": "y", "c": "z"}, {q: q for q in qids}, {q: {"a": 1} for q in qids})
    good = {q: {"a": 2.0, "b": 1.0} for q in qids}
    bad = {q: {"b": 2.0, "c": 1.0, "a": 0.5} for q in qids}
    half = {q: (good[q] if i % 2 else bad[q]) for i, q in enumerate(qids)}
    return ds, {"good": good, "bad": bad, "half": half}


def test_leaderboard_orders_rows_and_tests_against_the_baseline():
    ds, runs = make()
    t = leaderboard.leaderboard(ds, runs, baseline="half")
    assert list(t.index) == ["good", "half", "bad"]
    assert t.loc["good", "ndcg@10"] == pytest.approx(1.0)
    assert t.loc["good", "vs half"] > 0 and t.loc["good", "p_value"] < 0.01
    assert t.loc["good", "ndcg@10 ci_low"] <= t.loc["good", "ndcg@10"] <= t.loc["good", "ndcg@10 ci_high"]
    says = leaderboard.verdicts(t, "half")
    assert any(s.startswith("good is better than half") for s in says)
    assert any(s.startswith("bad is worse than half") for s in says)
    with pytest.raises(KeyError):
        leaderboard.leaderboard(ds, runs, baseline="missing")


def test_timed_runs_keeps_names_and_times():
    def slow():
        time.sleep(0.05)
        return {"q": {"a": 1.0}}

    runs, secs = leaderboard.timed_runs(None, {"r": slow, "fast": lambda: {}})
    assert runs == {"r": {"q": {"a": 1.0}}, "fast": {}}
    assert secs["r"] >= 0.05 > secs["fast"]
