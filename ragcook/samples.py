"""Fine-tuning samples in FlagEmbedding's JSONL form: ``{"query": str, "pos": [str], "neg": [str]}``.

The same samples become a sentence-transformers dataset with :func:`to_st_dataset`
(columns ``anchor``, ``positive``, ``negative_1`` ... ``negative_n``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ragcook.data import Dataset, iter_jsonl
from ragcook.errors import DataError


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


def write_jsonl(samples: list[Sample], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps(s.to_json(), ensure_ascii=False) + "\n")
    return path


def read_jsonl(path: str | Path) -> list[Sample]:
    """Read and check a samples file; errors name the file and the line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    out = []
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict) or not isinstance(row.get("query"), str):
            raise DataError(f"{path}:{lineno}: needs a 'query' string")
        pos, neg = row.get("pos"), row.get("neg", [])
        if not isinstance(pos, list) or not pos or not all(isinstance(p, str) for p in pos):
            raise DataError(f"{path}:{lineno}: 'pos' must be a non-empty list of strings")
        if not isinstance(neg, list) or not all(isinstance(n, str) for n in neg):
            raise DataError(f"{path}:{lineno}: 'neg' must be a list of strings")
        out.append(Sample(row["query"], pos, neg))
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


def insuranceqa_samples(
    split: str = "train",
    profile: str = "small",
    n_neg: int = 7,
    kind: str = "qa",
    model: str | None = None,
    ranks: tuple[int, int] = (10, 100),
    lang: str = "en",
    max_queries: int | None = None,
    seed: int = 13,
    dense=None,
) -> list[Sample]:
    """Fine-tuning samples from InsuranceQA questions, with hard negatives mined by the base model.

    ``kind="qa"``: question -> its answers, negatives drawn from the split's answer corpus at
    ranks ``ranks`` of the base model. ``kind="qq"``: question -> other questions with the same
    answer, negatives drawn from the split's questions. ``n_neg=0`` skips mining. Deterministic
    for a given ``seed``. Never train on ``split="test"``: it is what the course evaluates on.
    """
    from ragcook.data import load_insuranceqa
    from ragcook.models import DEFAULT_MODEL
    from ragcook.negatives import mine_hard_negatives

    if kind not in ("qa", "qq"):
        raise DataError(f"insuranceqa_samples: kind must be 'qa' or 'qq', got {kind!r}")
    ds = load_insuranceqa(split=split, lang=lang, profile=profile, seed=seed)
    if max_queries:
        ds = ds.take(max_queries, seed=seed)
    if kind == "qa":
        samples, pool = from_dataset(ds), list(ds.corpus.values())
    else:
        samples, pool = question_pairs(ds), list(ds.queries.values())
    if not samples:
        raise DataError(f"insuranceqa_samples: no {kind!r} samples in InsuranceQA {split}/{profile}")
    if n_neg <= 0:
        return samples
    return mine_hard_negatives(
        samples, pool, model=model or DEFAULT_MODEL, n=n_neg, ranks=ranks, seed=seed, dense=dense
    )


def samples_from_generated(rows: list[dict], kind: str = "qd") -> list[Sample]:
    """Samples from (cleaned) generation rows, see :mod:`ragcook.generate`.

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


# --------------------------------------------------------------------------- Q-Q vs Q-A vs Q-D retrieval


def follow_questions(run: dict, bank_qrels: dict[str, dict[str, int]], keep: set[str] | None = None) -> dict:
    """Q-Q retrieval: a run over stored questions becomes a run over their answers.

    Each answer scores the best score of the stored questions that lead to it; answers outside
    ``keep`` (e.g. the evaluated corpus) are dropped.
    """
    out: dict[str, dict[str, float]] = {}
    for qid, hits in run.items():
        docs: dict[str, float] = {}
        for bank_qid, score in hits.items():
            for did, grade in bank_qrels.get(bank_qid, {}).items():
                if grade > 0 and (keep is None or did in keep) and score > docs.get(did, float("-inf")):
                    docs[did] = score
        out[qid] = docs
    return out


def faq_documents(corpus: dict[str, str], bank: Dataset) -> dict[str, str]:
    """Q-D documents: each answer preceded by the stored questions it answers (FAQ pages)."""
    asked: dict[str, list[str]] = {}
    for qid, docs in bank.qrels.items():
        for did, grade in docs.items():
            if grade > 0 and did in corpus:
                asked.setdefault(did, []).append(bank.queries[qid])
    return {did: "\n".join(asked.get(did, []) + [text]) for did, text in corpus.items()}


def covered_queries(ds: Dataset, bank: Dataset) -> set[str]:
    """Query ids of ``ds`` with at least one relevant answer that some stored question of ``bank`` leads to."""
    reachable = {d for docs in bank.qrels.values() for d, g in docs.items() if g > 0}
    return {q for q, docs in ds.qrels.items() if any(g > 0 and d in reachable for d, g in docs.items())}


def coverage(ds: Dataset, bank: Dataset) -> float:
    """Share of ``ds``'s judged queries that Q-Q retrieval through ``bank`` can answer at all."""
    judged = [q for q in ds.queries if ds.qrels.get(q)]
    return len(covered_queries(ds, bank) & set(judged)) / max(1, len(judged))


def mismatch_runs(ds: Dataset, bank: Dataset, model: str | None = None, k: int = 100, dense=None) -> dict[str, dict]:
    """Runs of the three pairings on ``ds`` with ``bank`` as the stored questions (e.g. InsuranceQA train).

    ``Q-A``: query -> answers. ``Q-Q``: query -> stored questions -> their answers.
    ``Q-D``: query -> answers with their stored questions prepended. ``Q-Q + Q-A``: RRF of the two.
    Only the documents that change are encoded again for Q-D.
    """
    import numpy as np

    from ragcook.models import DEFAULT_MODEL
    from ragcook.retrieve import Dense, rrf

    enc = dense or Dense(model=model or DEFAULT_MODEL)
    qa = enc.index(ds.corpus).search(ds.queries, k)
    bank_run = Dense(model=enc.model_path, query_prompt=enc.query_prompt, show_progress=enc.show_progress)
    bank_run._model = enc.model  # share the loaded model; the index is its own
    qq = follow_questions(bank_run.index(bank.queries).search(ds.queries, k), bank.qrels, keep=set(ds.corpus))
    docs = faq_documents(ds.corpus, bank)
    changed = [d for d in ds.corpus if docs[d] != ds.corpus[d]]
    ids = list(ds.corpus)
    vecs = enc.encode(list(ds.corpus.values()))
    if changed:
        new = enc.encode([docs[d] for d in changed])
        pos = {d: i for i, d in enumerate(ids)}
        vecs = vecs.copy()
        vecs[[pos[d] for d in changed]] = new
    qv = enc.encode(list(ds.queries.values()), prompt=enc.query_prompt)
    scores = qv @ vecs.T
    top = np.argsort(-scores, axis=1)[:, :k]
    qd = {q: {ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(ds.queries)}
    return {"Q-A": qa, "Q-Q": qq, "Q-D (FAQ page)": qd, "Q-Q + Q-A (RRF)": rrf([qq, qa])}
