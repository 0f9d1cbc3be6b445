"""Milvus Lite chunk store: records, persistence, and hybrid search equal to the in-memory path."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch

pytest.importorskip("pymilvus")

from ragcook.encode.sparse import M3Encoder  # noqa: E402
from ragcook.encode.sparse_head import SparseHead  # noqa: E402
from ragcook.errors import RagcookError  # noqa: E402
from ragcook.retrieve.sparse import DenseSparse  # noqa: E402
from ragcook.retrieve.vectordb import ChunkStore, MilvusHybrid, Record, agreement, same_top_k  # noqa: E402


def _random_chunks(n=60, dim=8, vocab=200, seed=0):
    rng = np.random.default_rng(seed)
    dense = rng.normal(size=(n, dim)).astype(np.float32)
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    sparse = sp.random(n, vocab, density=0.05, format="csr", random_state=seed, dtype=np.float32)
    ids = [f"c{i}" for i in range(n)]
    return ids, [f"chunk number {i}" for i in range(n)], dense, sparse


def test_store_round_trip_and_persistence(tmp_path):
    path = tmp_path / "chunks.db"
    ids, texts, dense, sparse = _random_chunks()
    with ChunkStore(path) as store:
        store.create(dense.shape[1])
        assert store.insert(ids, texts, dense, sparse) == len(ids)
        assert len(store) == len(ids)
        rec = store.get(["c3"])[0]
        assert isinstance(rec, Record) and rec.text == "chunk number 3"
        np.testing.assert_allclose(rec.dense, dense[3], atol=1e-6)
        assert rec.sparse["indices"] == sparse[3].indices.tolist()
        before = store.search(dense[:2], sparse[:2], k=5)
        with pytest.raises(RagcookError):
            store.create(dense.shape[1])  # exists, no overwrite
    # A fresh process reads the collection back from disk.
    code = (
        "import json, numpy as np, scipy.sparse as sp, sys\n"
        "from ragcook.retrieve.vectordb import ChunkStore\n"
        f"s = ChunkStore({str(path)!r})\n"
        "z = np.load(sys.argv[1])\n"
        "m = sp.csr_matrix((z['data'], z['indices'], z['indptr']), shape=tuple(z['shape']))\n"
        "print(json.dumps([len(s), s.search(z['dense'], m, k=5)]))\n"
        "s.close()\n"
    )
    q = tmp_path / "q.npz"
    m = sparse[:2]
    np.savez(q, dense=dense[:2], data=m.data, indices=m.indices, indptr=m.indptr, shape=np.array(m.shape))
    out = subprocess.run([sys.executable, "-c", code, str(q)], capture_output=True, text=True, check=True)
    import json

    count, after = json.loads(out.stdout.strip().splitlines()[-1])
    assert count == len(ids)
    assert [[h[0] for h in hits] for hits in after] == [[h[0] for h in hits] for hits in before]


def test_bad_input_is_explained(tmp_path):
    with pytest.raises(RagcookError):
        ChunkStore(tmp_path / "chunks.sqlite")
    ids, texts, dense, sparse = _random_chunks(n=4)
    with ChunkStore(tmp_path / "x.db") as store:
        with pytest.raises(RagcookError):
            store.insert(ids, texts, dense, sparse)  # no collection yet
        store.create(dense.shape[1])
        with pytest.raises(RagcookError):
            store.insert(ids, texts[:2], dense, sparse)
        with pytest.raises(RagcookError):
            store.search()


def test_same_top_k_allows_ties_only_at_the_cut():
    a = {"x": 3.0, "y": 2.0, "z": 1.0, "w": 1.0}
    assert same_top_k(a, {"x": 3.0, "y": 2.0, "w": 1.0}, k=3)  # z and w tie at the cut
    assert not same_top_k(a, {"y": 3.0, "x": 2.0, "w": 1.0}, k=3)  # same scores, wrong documents
    assert not same_top_k(a, {"x": 3.0, "y": 2.5, "w": 1.0}, k=3)
    assert agreement({"q": a}, {"q": a}) == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("method", ["atan", "rrf"])
def test_database_hybrid_equals_in_memory_hybrid(tmp_path, method):
    from ragcook.data import load_insuranceqa

    ds = load_insuranceqa("test").take(25)
    pos = {d for q in ds.qrels.values() for d in q}
    corpus = {d: t for d, t in ds.corpus.items() if d in pos}
    corpus.update({d: t for d, t in list(ds.corpus.items())[:150] if d not in corpus})
    torch.manual_seed(0)
    head = SparseHead(384)
    with torch.no_grad():
        head.linear.weight.normal_(0, 0.05)  # continuous token weights: no artificial sparse-score ties
    enc = M3Encoder("minilm", head=head)
    mem = DenseSparse(enc, method=method, weight=0.7, rrf_k=60, depth=100).index(corpus).search(ds.queries, k=10)
    db = MilvusHybrid(enc, tmp_path / "hybrid.db", method=method, weight=0.7, rrf_k=60, depth=100).index(corpus)
    try:
        got = db.search(ds.queries, k=10)
    finally:
        db.close()
    assert set(got) == set(mem)
    differ = [q for q in ds.queries if not same_top_k(got[q], mem[q], k=10)]
    assert not differ, f"top-10 differ beyond ties for {differ}"
    assert agreement(got, mem) == 1.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def milvus_server(tmp_path):
    """A Milvus Lite *server* in its own process on a loopback port: what a Milvus deployment looks like to a client."""
    import socket
    import time

    pytest.importorskip("milvus_lite")
    port = _free_port()
    cmd = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "server"), "--host", "127.0.0.1"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the Milvus Lite server exited: {proc.stderr.read()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the Milvus Lite server did not listen within 60 s")
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_store_against_a_server_uri(milvus_server):
    ids, texts, dense, sparse = _random_chunks(n=40)
    with ChunkStore(milvus_server, collection="remote_chunks", token="root:Milvus") as store:
        assert store.remote
        store.create(dense.shape[1])
        assert store.insert(ids, texts, dense, sparse) == len(ids)
        hits = store.search(dense[:3], k=5)
        assert [h[0][0] for h in hits] == ids[:3]  # a unit vector's best match is itself
        assert store.get(["c7"])[0].text == "chunk number 7"
    # close() leaves a server running: a new client finds the data there.
    with ChunkStore(milvus_server, collection="remote_chunks") as again:
        assert len(again) == len(ids)
        both = again.search(dense[:2], sparse[:2], k=3, fusion="rrf")
        assert [h[0][0] for h in both] == ids[:2]
