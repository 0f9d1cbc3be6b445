"""Fine-tuning samples in FlagEmbedding's JSONL form: ``{"query": str, "pos": [str], "neg": [str]}``.

The same samples become a sentence-transformers dataset with :func:`to_st_dataset`
(columns ``anchor``, ``positive``, ``negative_1`` ... ``negative_n``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragcook.data import Dataset
from ragcook.errors import DataError, warn
from ragcook.io import iter_jsonl
from ragcook.io import write_jsonl as write_rows


@dataclass
class Sample:
    """One training example: a query, the texts that answer it, and texts that do not."""

    query: str
    pos: list[str]
    neg: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"query": self.query, "pos": list(self.pos), "neg": list(self.neg)}


def from_dataset(ds: Dataset, max_pos: int | None = None) -> list[Sample]:
    """Query -> its relevant documents, one sample per judged query (no negatives yet)."""
    out = []
    for qid, text in ds.queries.items():
        pos = ds.positives(qid)[:max_pos] if max_pos else ds.positives(qid)
        if pos:
            out.append(Sample(text, pos))
    return out


def write_samples(samples: list[Sample], path: str | Path) -> Path:
    """Write samples as FlagEmbedding JSONL (one ``{"query", "pos", "neg"}`` per line)."""
    return write_rows(path, (s.to_json() for s in samples))


def read_samples(path: str | Path) -> list[Sample]:
    """Read and check a samples file; errors name the file and the line.

    Empty texts (or only spaces) teach nothing: empty passages are dropped, and a sample whose
    query is empty or that has no passage left in ``pos`` is skipped, with one warning that counts them.
    """
    out, skipped, dropped = [], [], 0
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict) or not isinstance(row.get("query"), str):
            raise DataError(f"{path}:{lineno}: needs a 'query' string")
        pos, neg = row.get("pos"), row.get("neg", [])
        if not isinstance(pos, list) or not pos or not all(isinstance(p, str) for p in pos):
            raise DataError(f"{path}:{lineno}: 'pos' must be a non-empty list of strings")
        if not isinstance(neg, list) or not all(isinstance(n, str) for n in neg):
            raise DataError(f"{path}:{lineno}: 'neg' must be a list of strings")
        kept_pos, kept_neg = [p for p in pos if p.strip()], [n for n in neg if n.strip()]
        if not row["query"].strip() or not kept_pos:
            skipped.append(lineno)
            continue
        dropped += len(pos) + len(neg) - len(kept_pos) - len(kept_neg)
        out.append(Sample(row["query"], kept_pos, kept_neg))
    if skipped or dropped:
        lines = ", ".join(map(str, skipped[:5])) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        warn(f"{path}: skipped {len(skipped)} samples with an empty query or positive (lines {lines or 'none'}), "
             f"and dropped {dropped} empty passages")  # fmt: skip
    if not out:
        raise DataError(f"{path}: no samples")
    return out


def to_st_dataset(samples: list[Sample], n_negatives: int = 0):
    """A ``datasets.Dataset`` for sentence-transformers: (anchor, positive[, negative_1..n]).

    One row per (query, positive) pair. With ``n_negatives > 0`` only samples that have at least
    that many negatives are kept, and the first ``n_negatives`` are used.
    """
    from datasets import Dataset as HFDataset

    cols: dict[str, list[str]] = {"anchor": [], "positive": []}
    for i in range(n_negatives):
        cols[f"negative_{i + 1}"] = []
    for s in samples:
        if len(s.neg) < n_negatives:
            continue
        for p in s.pos:
            cols["anchor"].append(s.query)
            cols["positive"].append(p)
            for i in range(n_negatives):
                cols[f"negative_{i + 1}"].append(s.neg[i])
    return HFDataset.from_dict(cols)


def as_dicts(samples: list[Sample]) -> list[dict]:
    return [asdict(s) for s in samples]


# --------------------------------------------------------------------------- sample types

#: The three pairings the course compares: what a query is matched with during training.
SAMPLE_KINDS = {
    "qa": "question -> its answer (InsuranceQA's answers are the documents)",
    "qd": "question -> the document chunk it was written from",
    "qq": "question -> another question with the same answer (a paraphrase)",
}


def question_pairs(ds: Dataset) -> list[Sample]:
    """Q-Q samples: each query paired with the other queries that share a relevant document.

    Queries whose answers no other query shares get no sample. FAQ-style retrieval (find the
    stored question most like the user's, return its answer) is trained on these.
    """
    by_doc: dict[str, list[str]] = {}
    for qid, docs in ds.qrels.items():
        for did, grade in docs.items():
            if grade > 0:
                by_doc.setdefault(did, []).append(qid)
    out = []
    for qid, text in ds.queries.items():
        others = {o for did, g in ds.qrels.get(qid, {}).items() if g > 0 for o in by_doc[did] if o != qid}
        pos = [ds.queries[o] for o in sorted(others, key=lambda o: (len(o), o)) if ds.queries[o] != text]
        if pos:
            out.append(Sample(text, pos))
    return out


def samples_from_generated(rows: list[dict], kind: str = "qd") -> list[Sample]:
    """Samples from (cleaned) generation rows, see :mod:`ragcook.train.generate`.

    ``kind="qd"``: every question -> the chunk it was written from (for the inverse cloze task
    baseline, the chunk with the pseudo-question sentence removed). ``kind="qq"``: each chunk's
    best question -> its other questions (paraphrase pairs); rows with fewer than two questions
    give none.
    """
    if kind not in ("qd", "qq"):
        raise DataError(f"samples_from_generated: kind must be 'qd' or 'qq', got {kind!r}")
    out = []
    for row in rows:
        qs = ([row["best"]] if row.get("best") else []) + [q for q in row.get("questions", []) if q != row.get("best")]
        if kind == "qd":
            pos = row.get("positive") or row["chunk"]
            out += [Sample(q, [pos]) for q in qs]
        elif len(qs) >= 2:
            out.append(Sample(qs[0], qs[1:]))
    return out
