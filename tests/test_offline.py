"""Offline and deterministic: ``ragcook eval`` and ``ragcook run --quick`` open no connection outside
loopback, two quick runs give identical metric tables, and the report has every baseline (see :mod:`tests.offline`)."""

import json
import socket
import threading

import pytest

from ragcook import cli
from tests.offline import no_network, quick_runs
from tests.test_data import beir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return quick_runs(tmp_path_factory.getbasetemp() / "quick-runs")


def test_the_guard_refuses_the_network_and_allows_loopback():
    server = socket.create_server(("127.0.0.1", 0))
    acceptor = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
    acceptor.start()
    with no_network() as attempts:
        with socket.create_connection(server.getsockname(), timeout=5):
            pass  # loopback is allowed
        with pytest.raises(OSError, match="test guard"):
            socket.create_connection(("192.0.2.1", 80), timeout=1)  # TEST-NET-1: never routed
        with pytest.raises(OSError, match="test guard"):
            socket.socket().connect_ex(("8.8.8.8", 53))
        with pytest.raises(OSError, match="test guard"):
            socket.getaddrinfo("huggingface.co", 443)
    acceptor.join(timeout=10)  # it took the connection before the server closes (else, on a busy machine, accept fails)
    server.close()
    assert len(attempts) == 3
    assert "no_network" not in socket.socket.connect.__qualname__  # restored after the block


def test_eval_opens_no_connection(tmp_path, capsys):
    corpus = [f'{{"_id": "d{i}", "text": "document {i} about {w}"}}' for i, w in enumerate(["cats", "dogs", "cars", "tax"] * 10)]
    root = beir(tmp_path, corpus=corpus, qrels=["q1\td0\t1"])
    with no_network() as attempts:
        code = cli.main(["eval", "--data", str(root), "--retriever", "bm25", "dense", "hybrid", "--out", str(tmp_path / "o")])
    assert code == 0 and attempts == []
    assert set(json.loads((tmp_path / "o" / "results.json").read_text())["results"]) == {"bm25", "dense", "hybrid"}


def test_run_quick_opens_no_connection(runs):
    first, second, attempts = runs
    assert attempts == []  # the first run, in this process; the second exits 3 on any attempt, and it exited 0
    assert (first / "report.md").is_file() and (second / "report.md").is_file()


def test_two_quick_runs_give_identical_metric_tables(runs):
    first, second, _ = runs
    a = json.loads((first / "results.json").read_text())["results"]
    b = json.loads((second / "results.json").read_text())["results"]
    assert a == b  # exactly: same floats, not approximately
    assert (first / "results.csv").read_text() == (second / "results.csv").read_text()
    chosen = [next(line for line in (d / "report.md").read_text().splitlines() if "chosen on" in line) for d in runs[:2]]
    assert chosen[0] == chosen[1]  # the same hybrid weight, from the same validation scores


def test_run_writes_a_report_with_every_baseline(runs):
    out = runs[0]
    text = (out / "report.md").read_text()
    results = json.loads((out / "results.json").read_text())["results"]
    assert {"bm25", "dense", "hybrid", "dense-finetuned"} <= set(results)
    assert all(0.0 <= r["ndcg@10"] <= 1.0 for r in results.values())
    assert results["dense-finetuned"] != results["dense"]  # the tuned model is another model
    assert "chosen on 100 validation queries" in text and "## Fine-tuned dense model" in text
    for png in ("results.png", "hybrid_weight.png", "finetune_loss.png"):
        assert (out / png).stat().st_size > 1000
