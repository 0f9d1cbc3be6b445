"""Retrieval datasets: InsuranceQA from its pip package, and any BEIR-format folder.

One small dataclass holds a split: ``corpus`` (doc id -> text), ``queries`` (query id -> text)
and ``qrels`` (query id -> {doc id: grade}). Everything in the course reads and writes it.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ragcook.errors import DataError

SPLITS = ("train", "valid", "test")
PROFILES = ("small", "full")

#: The ``small`` profile, sized for a laptop: at most this many queries per split ...
SMALL_MAX_QUERIES = {"train": 2000, "valid": 300, "test": 500}
#: ... and a corpus of their positive answers topped up with sampled other answers to this size.
SMALL_CORPUS_SIZE = {"train": 5000, "valid": 2000, "test": 2000}
SEED = 13


@dataclass
class Dataset:
    """A retrieval split: documents, queries and graded relevance judgements."""

    corpus: dict[str, str]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]
    name: str = "dataset"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate(self)

    def __repr__(self) -> str:
        n_rel = sum(len(v) for v in self.qrels.values())
        return (
            f"Dataset({self.name!r}: {len(self.corpus):,} documents, {len(self.queries):,} queries, "
            f"{n_rel:,} relevant pairs)"
        )

    def positives(self, qid: str) -> list[str]:
        """Texts of the documents judged relevant (grade > 0) for a query."""
        return [self.corpus[d] for d, g in self.qrels.get(qid, {}).items() if g > 0]

    def take(self, n: int, seed: int = SEED) -> "Dataset":
        """A deterministic sample of ``n`` queries over the same corpus."""
        qids = sorted(self.queries)
        if n < len(qids):
            qids = sorted(random.Random(seed).sample(qids, n))
        return Dataset(
            corpus=self.corpus,
            queries={q: self.queries[q] for q in qids},
            qrels={q: self.qrels[q] for q in qids if q in self.qrels},
            name=f"{self.name}[{len(qids)}]",
            meta=dict(self.meta),
        )


def validate(ds: Dataset, source: str | None = None) -> None:
    """Raise :class:`DataError` if the dataset cannot be evaluated meaningfully."""
    where = source or ds.name
    if not ds.corpus:
        raise DataError(f"{where}: the corpus is empty")
    if not ds.queries:
        raise DataError(f"{where}: there are no queries")
    for qid, docs in ds.qrels.items():
        if qid not in ds.queries:
            raise DataError(f"{where}: qrels name query id {qid!r}, which is not among the queries")
        for did in docs:
            if did not in ds.corpus:
                raise DataError(
                    f"{where}: qrels for query {qid!r} name document id {did!r}, which is not in the corpus"
                )


# --------------------------------------------------------------------------- InsuranceQA


def _clean(text: str) -> str:
    """InsuranceQA's English text has doubled spaces and stray padding: collapse them."""
    return re.sub(r"\s+", " ", text).strip()


def _insuranceqa():
    try:
        import insuranceqa_data  # type: ignore
    except ImportError as e:  # pragma: no cover - it is a hard dependency
        raise DataError("InsuranceQA is not installed: pip install insuranceqa-data==1.2") from e
    return insuranceqa_data


def load_insuranceqa(
    split: str = "test", lang: str = "en", profile: str = "small", seed: int = SEED
) -> Dataset:
    """Load one InsuranceQA split from the ``insuranceqa-data`` package (no download).

    ``lang="zh"`` gives the Chinese side, which is a machine translation of the English.
    ``profile="small"`` keeps at most ``SMALL_MAX_QUERIES[split]`` queries, chosen at random with
    ``seed``, and a corpus of all their positive answers topped up with other answers, drawn first
    from the dataset's own mined negatives of those queries (hard distractors), to
    ``SMALL_CORPUS_SIZE[split]`` documents. ``profile="full"`` keeps every query and all 27,413 answers.
    """
    if split not in SPLITS:
        raise DataError(f"insuranceqa: unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if lang not in ("en", "zh"):
        raise DataError(f"insuranceqa: unknown language {lang!r}; choose 'en' or 'zh'")
    if profile not in PROFILES:
        raise DataError(f"insuranceqa: unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    iq = _insuranceqa()
    raw = {"train": iq.load_train, "valid": iq.load_valid, "test": iq.load_test}[split]()
    answers = iq.load_answers()

    qids = sorted(raw, key=int)
    rng = random.Random(seed)
    if profile == "small" and len(qids) > SMALL_MAX_QUERIES[split]:
        qids = sorted(rng.sample(qids, SMALL_MAX_QUERIES[split]), key=int)

    if profile == "full":
        doc_ids = sorted(answers, key=int)
    else:
        pos = {a for q in qids for a in raw[q]["answers"]}
        target = max(SMALL_CORPUS_SIZE[split], len(pos))
        hard = sorted({a for q in qids for a in raw[q]["negatives"]} - pos, key=int)
        rng.shuffle(hard)
        chosen = set(pos) | set(hard[: max(0, (target - len(pos)) // 2)])
        rest = sorted(set(answers) - chosen, key=int)
        rng.shuffle(rest)
        chosen |= set(rest[: max(0, target - len(chosen))])
        doc_ids = sorted(chosen, key=int)

    corpus = {f"a{d}": _clean(answers[d][lang]) for d in doc_ids}
    queries = {f"q{q}": _clean(raw[q][lang]) for q in qids}
    qrels = {f"q{q}": {f"a{a}": 1 for a in raw[q]["answers"]} for q in qids}
    meta = {
        "source": "insuranceqa-data==1.2",
        "split": split,
        "lang": lang,
        "profile": profile,
        "seed": seed,
        "domains": {f"q{q}": raw[q].get("domain", "") for q in qids},
    }
    if lang == "zh":
        meta["note"] = "Chinese InsuranceQA is a machine translation of the English original."
    return Dataset(corpus, queries, qrels, name=f"insuranceqa{':zh' if lang == 'zh' else ''}/{split}", meta=meta)


# --------------------------------------------------------------------------- BEIR folders


def iter_jsonl(path: Path):
    """Yield ``(line number, parsed object)`` for each non-blank line; a bad line raises
    :class:`DataError` naming the file and the line. The caller checks that the file exists."""
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}:{lineno}: malformed JSON line ({e.msg})") from None


def _read_jsonl(path: Path, kind: str) -> dict[str, str]:
    if not path.is_file():
        raise DataError(f"{path}: file not found (a BEIR folder needs {path.name})")
    out: dict[str, str] = {}
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict) or "_id" not in row or "text" not in row:
            raise DataError(f"{path}:{lineno}: each line needs an object with '_id' and 'text'")
        rid = str(row["_id"])
        if rid in out:
            raise DataError(f"{path}:{lineno}: duplicate {kind} id {rid!r}")
        title = row.get("title") or ""
        out[rid] = f"{title}. {row['text']}".strip() if title else str(row["text"])
    return out


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise DataError(f"{path}: file not found (a BEIR folder needs qrels/<split>.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for lineno, row in enumerate(csv.reader(f, delimiter="\t"), 1):
            if not row or (lineno == 1 and row[0] == "query-id"):
                continue
            if len(row) != 3:
                raise DataError(f"{path}:{lineno}: expected 3 tab-separated columns, got {len(row)}")
            try:
                grade = int(row[2])
            except ValueError:
                raise DataError(f"{path}:{lineno}: score {row[2]!r} is not an integer") from None
            qrels.setdefault(row[0], {})[row[1]] = grade
    return qrels


def load_beir(path: str | Path, split: str = "test") -> Dataset:
    """Read a BEIR folder: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/{split}.tsv``.

    Only queries that have judgements in the split are kept, as BEIR's own loader does.
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (expected a BEIR folder with corpus.jsonl)")
    corpus = _read_jsonl(root / "corpus.jsonl", "document")
    queries = _read_jsonl(root / "queries.jsonl", "query")
    qrels_path = root / "qrels" / f"{split}.tsv"
    qrels = _read_qrels(qrels_path)
    source = str(qrels_path)
    if not corpus:
        raise DataError(f"{root / 'corpus.jsonl'}: the corpus is empty")
    for qid, docs in qrels.items():
        if qid not in queries:
            raise DataError(f"{source}: names query id {qid!r}, which is not in queries.jsonl")
        for did in docs:
            if did not in corpus:
                raise DataError(f"{source}: names document id {did!r}, which is not in corpus.jsonl")
    queries = {q: t for q, t in queries.items() if q in qrels}
    meta = {"source": str(root), "split": split}
    meta_file = root / "ragcook.json"
    if meta_file.is_file():
        meta.update(json.loads(meta_file.read_text(encoding="utf-8")))
    return Dataset(corpus, queries, qrels, name=f"{root.name}/{split}", meta=meta)


def save_beir(ds: Dataset, path: str | Path, split: str = "test") -> Path:
    """Write a dataset as a BEIR folder (the same layout :func:`load_beir` reads)."""
    root = Path(path)
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    with (root / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for did, text in ds.corpus.items():
            f.write(json.dumps({"_id": did, "title": "", "text": text}, ensure_ascii=False) + "\n")
    with (root / "queries.jsonl").open("w", encoding="utf-8") as f:
        for qid, text in ds.queries.items():
            f.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
    with (root / "qrels" / f"{split}.tsv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["query-id", "corpus-id", "score"])
        for qid, docs in ds.qrels.items():
            for did, grade in docs.items():
                w.writerow([qid, did, grade])
    lang = ds.meta.get("lang")
    if lang:
        (root / "ragcook.json").write_text(json.dumps({"lang": lang}), encoding="utf-8")
    return root


def load(spec: str, split: str = "test", profile: str = "small", seed: int = SEED) -> Dataset:
    """Load ``insuranceqa``, ``insuranceqa:zh`` or a BEIR folder path."""
    if spec in ("insuranceqa", "insuranceqa:en"):
        return load_insuranceqa(split, "en", profile, seed)
    if spec == "insuranceqa:zh":
        return load_insuranceqa(split, "zh", profile, seed)
    if Path(spec).exists():
        return load_beir(spec, split)
    raise DataError(f"{spec}: no such dataset; use 'insuranceqa', 'insuranceqa:zh' or a BEIR folder path")


def lang_of(ds: Dataset) -> str:
    """The dataset's language ('en' unless its metadata says otherwise)."""
    return ds.meta.get("lang", "en")
