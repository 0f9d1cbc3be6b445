import json

import pytest

from tests.offline import quick_runs


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return quick_runs(tmp_path_factory.getbasetemp() / "quick-runs")[0]  # shared with test_offline: one run --quick


def test_run_writes_a_report_with_every_baseline(report):
    out = report
    text = (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())["results"]
    assert {"bm25", "dense", "hybrid", "dense-finetuned"} <= set(results)
    assert all(0.0 <= r["ndcg@10"] <= 1.0 for r in results.values())
    assert results["dense-finetuned"] != results["dense"]  # the tuned model is another model
    assert "chosen on 100 validation queries" in text and "## Fine-tuned dense model" in text
    for png in ("results.png", "hybrid_weight.png", "finetune_loss.png"):
        assert (out / png).stat().st_size > 1000
