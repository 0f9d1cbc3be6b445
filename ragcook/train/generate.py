"""Questions for document chunks: a domain with documents but no queries gets training data.

The source material's recipe, with its two prompts verbatim:

1. :data:`SOURCE_QUESTIONS_PROMPT` asks for ``num_questions_per_chunk`` questions of at most 20
   words each about a chunk (the first pass);
2. :data:`SOURCE_BEST_QUESTION_PROMPT` shows those questions as examples and asks for one
   question (the second pass).

:data:`LLAMAINDEX_QA_PROMPT` is LlamaIndex's own template, the other common first pass. The
backends are in :mod:`ragcook.train.llm`. :class:`ICT` needs **no LLM at all**: the inverse
cloze task, one sentence of the chunk as its pseudo-question, removed from the chunk.

:func:`generate_questions` appends one JSON line per chunk, with its provenance, so an
interrupted run resumes where it stopped (:mod:`ragcook.io` repairs a torn last line).
"""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from ragcook import progress
from ragcook.errors import DataError, RagcookError
from ragcook.io import append_jsonl, iter_jsonl, working_copy
from ragcook.text.chunk import Chunk, sentence_spans
from ragcook.train.llm import ChatBackend, LocalGGUF, OpenAIChat

# --------------------------------------------------------------------------- prompts

#: The source material's first prompt, verbatim (it writes it as a Python string with
#: line-continuation backslashes, as here): ``num_questions_per_chunk`` questions for a chunk.
SOURCE_QUESTIONS_PROMPT = """\
Given the context below, your task is to create a set of {num_questions_per_chunk} diverse questions \
that a human might ask, each within 20 words. Restrict the questions to the provided context.

---------------------
{context_str}
---------------------

Try to cover various aspects and perspectives in your questions. Be concise and make sure the questions \
are relevant to the context. Generate questions based on the provided information directly, nothing else."""

#: The source material's second prompt, verbatim: the first pass's questions go in as examples,
#: and the model writes the one question it finds best.
SOURCE_BEST_QUESTION_PROMPT = """\
# Context:
{context}

# Generate a relevant and coherent question based on the information provided.

# Example:
{questions}

# Generate a question directly.
# Question:"""

#: LlamaIndex's ``DEFAULT_QA_GENERATE_PROMPT_TMPL`` (llama_index.finetuning.embeddings.common),
#: verbatim, stray quote included: the template its ``generate_qa_embedding_pairs`` uses. Not the
#: source's prompt; offered as the other common choice.
LLAMAINDEX_QA_PROMPT = """\
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

#: First-pass prompts by name (the name is recorded in every generated row).
FIRST_PROMPTS = {"source": SOURCE_QUESTIONS_PROMPT, "llamaindex": LLAMAINDEX_QA_PROMPT}

#: Query rewriting (notebook 05): a user's question into search keywords. Written for this course.
KEYWORDS_PROMPT = """\
Rewrite the following question as a short list of search keywords \
(at most 8 words, no punctuation, no explanation).

Question: {query}
Keywords:"""


def first_prompt(context: str, n: int = 3, prompt: str = "source") -> str:
    """The first-pass prompt ``prompt`` (``source`` or ``llamaindex``) filled in for a chunk."""
    if prompt not in FIRST_PROMPTS:
        raise RagcookError(f"unknown prompt {prompt!r}; choose {' or '.join(FIRST_PROMPTS)}")
    return FIRST_PROMPTS[prompt].format(context_str=context, num_questions_per_chunk=n)


def best_prompt(context: str, examples: list[str]) -> str:
    """The source's second-pass prompt, the first pass's questions one per line as examples."""
    return SOURCE_BEST_QUESTION_PROMPT.format(context=context, questions="\n".join(examples))


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


# --------------------------------------------------------------------------- generation


@dataclass
class Generated:
    """What a generator made of one chunk: questions, an optional best one, and the positive text."""

    questions: list[str]
    best: str | None = None
    positive: str | None = None  # the text to train against; the chunk itself unless ICT changed it
    raw: dict = field(default_factory=dict)  # the LLM's answers, by pass
    seconds: dict = field(default_factory=dict)  # time per pass


class LLMQuestions:
    """The source's recipe: ``n`` questions with the first prompt, then one best with the second.

    ``prompt`` names the first-pass prompt (``source``, verbatim, or ``llamaindex``). Decoding is
    greedy (temperature 0) by default, so a rerun writes the same questions.
    """

    def __init__(
        self,
        backend: ChatBackend,
        n: int = 3,
        second_pass: bool = True,
        prompt: str = "source",
        max_tokens: int = 160,
        temperature: float = 0.0,
    ):
        if prompt not in FIRST_PROMPTS:
            raise RagcookError(f"unknown prompt {prompt!r}; choose {' or '.join(FIRST_PROMPTS)}")
        self.backend, self.n, self.second_pass, self.prompt = backend, n, second_pass, prompt
        self.max_tokens, self.temperature = max_tokens, temperature
        self.name = backend.name

    @property
    def provenance(self) -> dict:
        """Where a row came from: the backend and model, the prompts and the sampling settings."""
        return {
            **getattr(self.backend, "provenance", {"backend": self.backend.name}),
            "prompts": {"first": self.prompt, "second": "source" if self.second_pass else None},
            "sampling": {"temperature": self.temperature, "max_tokens": [self.max_tokens, 48], "n_questions": self.n},
        }

    def __call__(self, chunk: Chunk) -> Generated:
        t = time.perf_counter()
        raw = self.backend.chat(
            [{"role": "user", "content": first_prompt(chunk.text, self.n, self.prompt)}], self.max_tokens, self.temperature
        )
        g = Generated(parse_questions(raw), None, chunk.text, {"first": raw}, {"first": round(time.perf_counter() - t, 2)})
        if self.second_pass and g.questions:
            t = time.perf_counter()
            ans = self.backend.chat([{"role": "user", "content": best_prompt(chunk.text, g.questions)}], 48, self.temperature)
            g.best = (parse_questions(ans) or [""])[0] or None
            g.raw["second"] = ans
            g.seconds["second"] = round(time.perf_counter() - t, 2)
        return g


class ICT:
    """LLM-free baseline (inverse cloze task): a sentence of the chunk is its pseudo-question.

    The sentence is removed from the chunk, so the pair teaches context, not string matching.
    Not real questions: label results made with it as such.
    """

    name = "ict (no LLM: inverse cloze task)"

    def __init__(self, seed: int = 13, min_words: int = 4):
        self.seed, self.min_words = seed, min_words
        self.provenance = {"backend": "ict", "seed": seed, "min_words": min_words}

    def __call__(self, chunk: Chunk) -> Generated:
        spans = [(s, e) for s, e in sentence_spans(chunk.text) if len(chunk.text[s:e].split()) >= self.min_words]
        if len(spans) < 2:
            return Generated([], None, chunk.text)
        rng = random.Random(f"{self.seed}|{chunk.id}")
        s, e = rng.choice(spans)
        rest = (chunk.text[:s].rstrip() + " " + chunk.text[e:].lstrip()).strip()
        return Generated([chunk.text[s:e]], None, rest)


def make_generator(name: str, n: int = 3, second_pass: bool = True, prompt: str = "source", **kw):
    """``local`` (GGUF via xllamacpp), ``openai`` (env-configured endpoint) or ``ict`` (no LLM)."""
    if name == "ict":
        return ICT(**kw)
    if name == "local":
        return LLMQuestions(LocalGGUF(**kw), n=n, second_pass=second_pass, prompt=prompt)
    if name == "openai":
        return LLMQuestions(OpenAIChat(**kw), n=n, second_pass=second_pass, prompt=prompt)
    raise RagcookError(f"unknown generator {name!r}; choose local, openai or ict")


def read_generated(path: str | Path) -> list[dict]:
    """The rows of a generation file, the latest per chunk (or per query, for rewrites): a retry appends a row.

    A torn last line (an interrupted write) is skipped; a malformed line elsewhere, or a row with
    a missing or mistyped field, is a :class:`~ragcook.errors.DataError` naming the line.
    """
    latest: dict[str, dict] = {}
    if not Path(path).is_file():
        return []
    for lineno, row in iter_jsonl(path, resumable=True):
        latest[_row_key(path, lineno, row)] = row
    return list(latest.values())


#: The fields read back from a generation row, and their types: question rows, then rewrite rows.
_QUESTION_FIELDS = {"chunk_id": (str,), "chunk": (str,), "questions": (list,), "best": (str, type(None)),
                    "positive": (str, type(None)), "error": (str,), "attempts": (int,)}  # fmt: skip
_REWRITE_FIELDS = {"qid": (str,), "keywords": (str,)}
_REQUIRED = {"chunk_id", "chunk", "questions", "qid", "keywords"}


def _row_key(path, lineno: int, row) -> str:
    """A row's chunk id (a question row) or ``qid`` (a rewrite row), once its fields are checked."""
    if not isinstance(row, dict):
        raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
    if "chunk_id" not in row and "qid" not in row:
        raise DataError(f"{path}:{lineno}: a generation row needs 'chunk_id' (questions) or 'qid' (rewrites)")
    key, fields = ("chunk_id", _QUESTION_FIELDS) if "chunk_id" in row else ("qid", _REWRITE_FIELDS)
    for name, types in fields.items():
        value = row.get(name)
        if name not in row and name in _REQUIRED:
            raise DataError(f"{path}:{lineno}: the row has no {name!r}")
        if name in row and (not isinstance(value, types) or isinstance(value, bool)):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise DataError(f"{path}:{lineno}: {name!r} must be {want}, got {type(value).__name__}")
    if key == "chunk_id" and not all(isinstance(q, str) for q in row["questions"]):
        raise DataError(f"{path}:{lineno}: 'questions' must be a list of strings")
    return row[key]


def generate_questions(
    chunks: list[Chunk],
    generator,
    out: str | Path,
    limit: int | None = None,
    show_progress: bool | None = None,
    max_attempts: int = 3,
) -> list[dict]:
    """Run ``generator`` over ``chunks``, appending a JSON line per chunk to ``out``; resumable.

    Chunks already in ``out`` are skipped. A chunk whose generation fails is recorded with
    ``"error"`` and retried on the next run, up to ``max_attempts`` tries in all. Every row carries
    its provenance (model hash, prompt names, sampling settings) and the seconds each pass took.
    ``out`` may be a ``*.jsonl.gz`` (see :func:`ragcook.io.working_copy`).
    """
    with working_copy(out) as work:
        return _generate(chunks, generator, work, limit, show_progress, max_attempts)


def _generate(chunks, generator, out: Path, limit, show_progress, max_attempts) -> list[dict]:
    previous = {r["chunk_id"]: r for r in read_generated(out)}

    def pending(c: Chunk) -> bool:
        r = previous.get(c.id)
        return r is None or ("error" in r and r.get("attempts", 1) < max_attempts)

    todo = [c for c in chunks if pending(c)][: limit if limit is not None else None]
    provenance = getattr(generator, "provenance", {"backend": getattr(generator, "name", "?")})

    def rows():
        for c in progress.bar(todo, desc=f"questions ({getattr(generator, 'name', 'generator')})", show=show_progress):
            row = {"chunk_id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "chunk": c.text}
            t = time.perf_counter()
            try:
                g = generator(c)
                row.update(questions=g.questions, best=g.best, positive=g.positive, raw=g.raw)
                secs = g.seconds
            except RagcookError as e:
                row.update(questions=[], best=None, positive=c.text, raw={}, error=str(e))
                row["attempts"] = previous.get(c.id, {}).get("attempts", 0) + 1
                secs = {}
            row.update(generator=getattr(generator, "name", "?"), provenance=provenance)
            row["seconds"] = {**secs, "total": round(time.perf_counter() - t, 2)}
            yield row

    append_jsonl(out, rows())
    wanted = {c.id for c in chunks}
    return [r for r in read_generated(out) if r["chunk_id"] in wanted]


def rewrite_keywords(
    queries: dict[str, str], backend: ChatBackend, out: str | Path, show_progress: bool | None = None
) -> dict[str, str]:
    """Rewrite each query into search keywords with :data:`KEYWORDS_PROMPT`; resumable JSONL cache."""
    done = {r["qid"]: r["keywords"] for r in read_generated(out)}

    def rows():
        for qid in progress.bar([q for q in queries if q not in done], desc="rewrite", show=show_progress):
            text = backend.chat([{"role": "user", "content": KEYWORDS_PROMPT.format(query=queries[qid])}], 24)
            done[qid] = " ".join(parse_questions(text)[:1]) or queries[qid]
            yield {"qid": qid, "query": queries[qid], "keywords": done[qid], "raw": text}

    append_jsonl(out, rows())
    return {q: done[q] for q in queries if q in done}
