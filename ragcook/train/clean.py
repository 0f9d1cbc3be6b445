"""Clean generated questions: a small LLM writes plenty that should not become training data.

Rules, applied in this order, each counted in a :class:`CleanReport`:

``empty``       nothing left after stripping
``too_long``    more than ``max_words`` words (the prompt asked for 20)
``not_question`` no question mark and no question word at the start
``refusal``     "I'm sorry", "as an AI", "the context does not" ...
``copies_chunk`` the question is a verbatim span of the chunk (or shares nearly all its n-grams)
``duplicate``   a near-duplicate (MinHash, ``datasketch``) of a question already kept
``not_retrieved`` optional: the base model does not rank the question's own chunk in its top ``k``
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

RULES = ("empty", "too_long", "not_question", "refusal", "copies_chunk", "duplicate", "not_retrieved")

_QUESTION_WORDS = re.compile(
    r"^(what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|should|would|will|"
    r"shall|may|might|must|has|have|had|in what|according to|explain|describe|name|list)\b",
    re.I,
)
_REFUSAL = re.compile(
    r"\b(i'?m sorry|i am sorry|i cannot|i can'?t|as an ai|language model|unable to (?:generate|provide)|"
    r"(?:the )?context (?:does not|doesn'?t) (?:contain|provide|mention)|no questions?|not enough information)\b",
    re.I,
)


@dataclass
class CleanReport:
    """How many questions came in, how many each rule removed, and how many were kept."""

    total: int = 0
    removed: Counter = field(default_factory=Counter)

    @property
    def kept(self) -> int:
        return self.total - sum(self.removed.values())

    def as_dict(self) -> dict:
        return {"total": self.total, **{r: self.removed.get(r, 0) for r in RULES}, "kept": self.kept}

    def __str__(self) -> str:
        parts = ", ".join(f"{r} {self.removed[r]}" for r in RULES if self.removed.get(r))
        return f"cleaning: {self.total} questions, kept {self.kept}" + (f" (removed: {parts})" if parts else "")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", text.lower())).strip()


def _shingles(text: str, n: int = 3) -> set[str]:
    words = _norm(text).split()
    if len(words) < n:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def check_question(
    question: str, chunk: str = "", max_words: int = 32, copy_overlap: float = 0.9, require_question: bool = True
) -> str | None:
    """The first rule a single question breaks, or ``None`` if it passes (duplicates aside)."""
    q = (question or "").strip()
    if not q:
        return "empty"
    if len(q.split()) > max_words:
        return "too_long"
    if _REFUSAL.search(q):
        return "refusal"
    if require_question and not (q.endswith("?") or _QUESTION_WORDS.match(q)):
        return "not_question"
    if chunk:
        if _norm(q) and _norm(q) in _norm(chunk):
            return "copies_chunk"
        qs = _shingles(q)
        if len(qs) >= 3 and len(qs & _shingles(chunk)) / len(qs) >= copy_overlap:
            return "copies_chunk"
    return None


def _dedup(texts: list[str], threshold: float, num_perm: int = 64, seed: int = 13) -> list[bool]:
    """True for each text kept: the first of every group of near-duplicates (Jaccard >= threshold)."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    keep = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=num_perm, seed=seed)
        for s in _shingles(t, 2) or {""}:
            m.update(s.encode("utf-8"))
        if lsh.query(m):
            keep.append(False)
            continue
        lsh.insert(str(i), m)
        keep.append(True)
    return keep


def clean_questions(
    pairs: list[tuple[str, str]],
    max_words: int = 32,
    dedup_threshold: float = 0.8,
    report: CleanReport | None = None,
    require_question: bool = True,
) -> tuple[list[int], CleanReport]:
    """Indices of the (question, chunk) pairs that pass every rule, and the counts per rule."""
    report = report or CleanReport()
    report.total += len(pairs)
    ok = []
    for i, (q, chunk) in enumerate(pairs):
        rule = check_question(q, chunk, max_words=max_words, require_question=require_question)
        if rule:
            report.removed[rule] += 1
        else:
            ok.append(i)
    keep = _dedup([pairs[i][0] for i in ok], dedup_threshold) if ok else []
    report.removed["duplicate"] += keep.count(False)
    return [i for i, k in zip(ok, keep) if k], report


def clean_generated(rows: list[dict], use_best: bool = True, **kw) -> tuple[list[dict], CleanReport]:
    """Clean the rows of a generation file; each kept row has ``questions`` and ``best`` filtered.

    The first pass's questions and the second pass's best questions are cleaned as two sets
    (counted in one report): the best question often repeats one of its row's first-pass
    questions, which is the second prompt doing its job, not a duplicate. Rows left with no
    question are dropped. Copies are checked against the row's ``positive`` (the training text);
    inverse-cloze rows (no LLM) skip the "is it a question" rule.
    """
    if rows and "require_question" not in kw:
        kw["require_question"] = not all(str(r.get("generator", "")).startswith("ict") for r in rows)
    text = [row.get("positive") or row.get("chunk", "") for row in rows]
    first = [(r, q) for r, row in enumerate(rows) for q in row.get("questions") or []]
    idx, report = clean_questions([(q, text[r]) for r, q in first], **kw)
    kept: dict[int, list[str]] = {}
    for i in idx:
        kept.setdefault(first[i][0], []).append(first[i][1])
    best: dict[int, str] = {}
    if use_best:
        second = [(r, row["best"]) for r, row in enumerate(rows) if row.get("best")]
        idx, report = clean_questions([(q, text[r]) for r, q in second], report=report, **kw)
        best = {second[i][0]: second[i][1] for i in idx}
    out = []
    for r in sorted(set(kept) | set(best)):
        row = dict(rows[r])
        row.update(questions=kept.get(r, []), best=best.get(r))
        out.append(row)
    return out, report


def own_chunk_ranks(rows: list[dict], pool: list[str] | None = None, model=None, dense=None) -> list[tuple[int, str, int]]:
    """``(row index, question, rank)`` for every question: where the base model ranks its own chunk.

    Rank 0 is the top. ``pool`` is every candidate passage (default: the rows' own chunks); each
    row's training text (``positive``, else ``chunk``) must be in it.
    """
    import numpy as np

    from ragcook.encode.backends import TRAIN_BACKEND
    from ragcook.models import DEFAULT_MODEL
    from ragcook.retrieve import Dense

    enc = dense or Dense(model=model or DEFAULT_MODEL, backend=TRAIN_BACKEND)
    own = [r.get("positive") or r["chunk"] for r in rows]
    pool = list(dict.fromkeys(pool if pool is not None else own))
    where = {t: i for i, t in enumerate(pool)}
    missing = [t for t in own if t not in where]
    pool += list(dict.fromkeys(missing))
    where = {t: i for i, t in enumerate(pool)}
    flat = [(i, q) for i, r in enumerate(rows) for q in ([r["best"]] if r.get("best") else []) + list(r["questions"])]
    if not flat:
        return []
    pv, qv = enc.encode(pool), enc.encode([q for _, q in flat])
    scores = qv @ pv.T
    target = scores[np.arange(len(flat)), [where[own[i]] for i, _ in flat]]
    ranks = (scores > target[:, None]).sum(axis=1)
    return [(i, q, int(r)) for (i, q), r in zip(flat, ranks)]


def filter_retrieved(
    rows: list[dict], k: int = 10, pool: list[str] | None = None, model=None, dense=None, report: CleanReport | None = None
):
    """Keep questions whose own chunk the base model ranks in its top ``k`` of ``pool`` (default: all chunks).

    A question the base model cannot connect to its chunk is often off-topic (the LLM drifted);
    it may also be a hard, useful one, so this rule is optional. Returns rows and the report.
    """
    report = report or CleanReport()
    keep: dict[int, set[str]] = {}
    for i, q, r in own_chunk_ranks(rows, pool, model=model, dense=dense):
        if r < k:
            keep.setdefault(i, set()).add(q)
        else:
            report.removed["not_retrieved"] += 1
    out = []
    for i, row in enumerate(rows):
        if i in keep:
            row = dict(row)
            row["questions"] = [q for q in row["questions"] if q in keep[i]]
            if row.get("best") not in keep[i]:
                row["best"] = None
            out.append(row)
    return out, report
