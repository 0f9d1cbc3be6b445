"""BEIR folders: ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/{split}.tsv``, read and written.

The layout of the BEIR benchmark (https://github.com/beir-cellar/beir), so a reader can point
the course at their own data. Reading is strict: a malformed line, a bad byte, a missing field
or an id the qrels name but the files lack is a :class:`DataError` naming the file and line.
Documents or queries whose text is empty (or only spaces) are skipped with a one-line warning
that counts them, with the judgements that named them: they cannot be retrieved or asked.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ragcook.data.dataset import Dataset, detect_lang
from ragcook.errors import DataError, warn
from ragcook.io import iter_jsonl
from ragcook.types import Qrels


def read_texts(path: Path, kind: str) -> tuple[dict[str, str], list[int]]:
    """``{_id: text}`` of a BEIR JSONL file (a title is prefixed), and the lines of empty texts."""
    if not path.is_file():
        raise DataError(f"{path}: file not found (a BEIR folder needs {path.name})")
    out: dict[str, str] = {}
    empty: list[int] = []
    seen: set[str] = set()
    for lineno, row in iter_jsonl(path):
        if not isinstance(row, dict) or "_id" not in row or "text" not in row:
            raise DataError(f"{path}:{lineno}: each line needs an object with '_id' and 'text'")
        text, title = row["text"], row.get("title") or ""
        if not isinstance(text, str) or not isinstance(title, str):
            raise DataError(f"{path}:{lineno}: 'text' and 'title' must be strings, got {type(text).__name__}")
        if not isinstance(row["_id"], (str, int)) or isinstance(row["_id"], bool):
            raise DataError(f"{path}:{lineno}: '_id' must be a string or an integer")
        rid = str(row["_id"])
        if rid in seen:
            raise DataError(f"{path}:{lineno}: duplicate {kind} id {rid!r}")
        seen.add(rid)
        body = f"{title}. {text}".strip() if title else text
        if not body.strip():
            empty.append(lineno)
            continue
        out[rid] = body
    return out, empty


def read_qrels(path: Path) -> Qrels:
    """``qrels/{split}.tsv`` (query-id, corpus-id, integer score; a header line is optional)."""
    if not path.is_file():
        raise DataError(f"{path}: file not found (a BEIR folder needs qrels/<split>.tsv)")
    qrels: Qrels = {}
    try:
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
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason})") from None
    except csv.Error as e:
        raise DataError(f"{path}: not a tab-separated file ({e})") from None
    return qrels


def load_beir(path: str | Path, split: str = "test", lang: str | None = None) -> Dataset:
    """Read a BEIR folder; only queries with judgements in ``split`` are kept, as BEIR does.

    ``lang`` (``en`` or ``zh``) is taken from the argument, else from a ``ragcook.json`` beside
    the files, else detected from the corpus (:func:`~ragcook.data.dataset.detect_lang`).
    """
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder (expected a BEIR folder with corpus.jsonl)")
    corpus, empty_docs = read_texts(root / "corpus.jsonl", "document")
    queries, empty_queries = read_texts(root / "queries.jsonl", "query")
    qrels_path = root / "qrels" / f"{split}.tsv"
    qrels = read_qrels(qrels_path)
    if not corpus:
        raise DataError(f"{root / 'corpus.jsonl'}: the corpus is empty")
    skipped_ids, dropped = _skipped_ids(root, empty_docs, empty_queries), 0
    for qid, docs in list(qrels.items()):
        if qid not in queries:
            if qid in skipped_ids:
                dropped += len(qrels.pop(qid))
                continue
            raise DataError(f"{qrels_path}: names query id {qid!r}, which is not in queries.jsonl")
        for did in list(docs):
            if did not in corpus:
                if did in skipped_ids:
                    del docs[did]
                    dropped += 1
                    continue
                raise DataError(f"{qrels_path}: names document id {did!r}, which is not in corpus.jsonl")
    if empty_docs or empty_queries:
        warn(
            f"{root}: skipped {len(empty_docs)} documents and {len(empty_queries)} queries with empty text "
            f"(corpus lines {_lines(empty_docs)}; queries lines {_lines(empty_queries)}), and {dropped} judgements naming them"
        )
    queries = {q: t for q, t in queries.items() if qrels.get(q)}
    meta = {"source": str(root), "split": split}
    meta_file = root / "ragcook.json"
    if meta_file.is_file():
        try:
            extra = json.loads(meta_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
            raise DataError(f"{meta_file}: not a JSON object ({e})") from None
        if not isinstance(extra, dict) or not isinstance(extra.get("lang", ""), str):
            raise DataError(f'{meta_file}: expected a JSON object like {{"lang": "en"}}')
        meta.update(extra)
    if lang:
        meta["lang"] = lang
    meta.setdefault("lang", detect_lang(corpus.values()))
    return Dataset(corpus, queries, qrels, name=f"{root.name}/{split}", meta=meta)


def _skipped_ids(root: Path, empty_docs: list[int], empty_queries: list[int]) -> set[str]:
    """The ids on the skipped lines (read again: they are few, and only when some were skipped)."""
    ids: set[str] = set()
    for name, lines in (("corpus.jsonl", empty_docs), ("queries.jsonl", empty_queries)):
        wanted = set(lines)
        if wanted:
            ids |= {str(row["_id"]) for lineno, row in iter_jsonl(root / name) if lineno in wanted}
    return ids


def _lines(lines: list[int], most: int = 5) -> str:
    if not lines:
        return "none"
    shown = ", ".join(map(str, lines[:most]))
    return shown + (f" and {len(lines) - most} more" if len(lines) > most else "")


def save_beir(ds: Dataset, path: str | Path, split: str = "test") -> Path:
    """Write a dataset as a BEIR folder (the layout :func:`load_beir` reads), with its language."""
    root = Path(path)
    if root.exists() and not root.is_dir():
        raise DataError(f"{root}: exists and is not a folder")
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
    if ds.meta.get("lang"):
        (root / "ragcook.json").write_text(json.dumps({"lang": ds.meta["lang"]}), encoding="utf-8")
    return root
