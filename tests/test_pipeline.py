import json

from ragcook import cli


def test_run_writes_a_report_with_every_baseline(tmp_path):
    out = tmp_path / "report"
    assert cli.main(["run", "--quick", "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())["results"]
    assert {"bm25", "dense", "hybrid", "dense-finetuned"} <= set(results)
    assert all(0.0 <= r["ndcg@10"] <= 1.0 for r in results.values())
    assert results["dense-finetuned"] != results["dense"]  # the tuned model is another model
    assert "chosen on 100 validation queries" in text and "## Fine-tuned dense model" in text
    for png in ("results.png", "hybrid_weight.png", "finetune_loss.png"):
        assert (out / png).stat().st_size > 1000
