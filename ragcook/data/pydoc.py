"""The Python documentation as a corpus: standard-library module pages, turned from reST into text.

Notebook 12 (late chunking) needs documents whose later paragraphs say "this module" and
never repeat the module's name. Debian's ``python3.11-doc`` ships the reStructuredText sources;
:func:`build_pydoc_modules` converts a seeded sample of module pages to plain text
(:func:`rst_to_text`) and writes the excerpt that ships in ``data/late_chunking/``.

:func:`build_python_faq` turns the Python FAQ into a second retrieval domain with *human*
questions: each question heading is a query, the section under it its one relevant document.
It ships as the BEIR folder ``data/pyfaq/`` (:func:`load_python_faq`). Rebuild both with
``python -m ragcook.data.pydoc [SRC]``.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np

from ragcook.data.beir import load_beir, save_beir
from ragcook.data.dataset import DATA_DIR, Dataset
from ragcook.errors import DataError
from ragcook.io import read_jsonl

#: Object directives: their signature is kept (followed by a colon) and glued to their body.
_OBJECT_DIRECTIVES = {
    "function", "method", "class", "attribute", "data", "exception", "decorator", "classmethod",
    "staticmethod", "abstractmethod", "coroutinemethod", "coroutinefunction", "awaitablefunction",
    "awaitablemethod", "opcode", "cmdoption", "describe", "pdbcommand", "envvar",
}  # fmt: skip
#: Admonitions whose body is prose worth keeping; every other directive is dropped with its body.
_KEEP_BODY = {"note", "warning", "important", "caution", "impl-detail"}
_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+([\w:-]+)::\s*(.*)$")
_ADORN = re.compile(r"^([=\-~^\"'`#*+.:_])\1{2,}\s*$")
_GLUE, _HEAD = "\x00", "\x01"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rst_labels(rst: str) -> dict[str, str]:
    """``.. _label:`` targets placed right before a heading -> that heading's text (for ``:ref:``)."""
    lines = rst.splitlines()
    out = {}
    for i, line in enumerate(lines):
        m = re.match(r"^\.\. _([^:]+):\s*$", line)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or lines[j].startswith(".. _") or _ADORN.match(lines[j].strip())):
            j += 1
        if j + 1 < len(lines) and _ADORN.match(lines[j + 1].strip()):
            out[m.group(1).strip().lower()] = _inline(lines[j].strip())
    return out


def rst_to_text(rst: str, labels: dict[str, str] | None = None) -> str:
    """Readable prose from a Sphinx reStructuredText source: a heading is kept as a line glued to
    the paragraph under it; paragraphs are split by blank lines; code, doctests, tables, comments
    and most directives are removed; inline markup (``:func:`x```, ````x````, ``*x*``) is reduced
    to its text, and ``:ref:`label``` to the title of the section it names (``labels``, see
    :func:`rst_labels`; this file's own labels are always known)."""
    labels = {**rst_labels(rst), **(labels or {})}
    lines = rst.expandtabs(8).splitlines()
    out: list[str] = []
    i, n = 0, len(lines)

    def skip_block(j: int, base: int) -> int:  # skip lines indented deeper than ``base`` (or blank)
        while j < n and (not lines[j].strip() or _indent(lines[j]) > base):
            j += 1
        return j

    while i < n:
        line = lines[i]
        s = line.strip()
        if not s:
            out.append("")
            i += 1
            continue
        m = _DIRECTIVE.match(line)
        if m:
            base, name, arg = len(m.group(1)), m.group(2).split(":")[-1], m.group(3).strip()
            i += 1
            if name in _OBJECT_DIRECTIVES or name in _KEEP_BODY:
                sig = [arg] if arg else []
                while i < n and lines[i].strip() and _indent(lines[i]) > base and not lines[i].strip().startswith(":"):
                    if name not in _OBJECT_DIRECTIVES:
                        break
                    sig.append(lines[i].strip())  # continued signature lines
                    i += 1
                while i < n and lines[i].strip().startswith(":") and _indent(lines[i]) > base:
                    i += 1  # directive options
                if name in _OBJECT_DIRECTIVES and sig:
                    out += ["", " ".join(sig) + ":" + _GLUE]
                elif name in _KEEP_BODY and arg:
                    out += ["", arg]
                continue  # the indented body is read as ordinary lines
            i = skip_block(i, base)
            out.append("")
            continue
        if s.startswith(".."):  # comment or link target
            i = skip_block(i + 1, _indent(line))
            out.append("")
            continue
        if _ADORN.match(s) and (i + 1 >= n or not lines[i + 1].strip() or _ADORN.match(lines[i + 1].strip())):
            i += 1  # transition or overline
            continue
        if i + 1 < n and _ADORN.match(lines[i + 1].strip()) and len(lines[i + 1].strip()) >= len(s) - 1:
            out += ["", s + _HEAD, ""]  # heading
            i += 2
            continue
        if s.startswith(">>>") or s.startswith("+-") or s.startswith("|") or re.match(r"^=+(\s+=+)+$", s):
            j = i
            while j < n and lines[j].strip():
                j += 1
            i = j
            out.append("")
            continue
        if s.startswith("**Source code:**"):
            i += 1
            continue
        if s.endswith("::"):
            text = s[:-2].rstrip()
            if text:
                out.append(line[: _indent(line)] + text + ("" if s.endswith(" ::") else ":"))
            i = skip_block(i + 1, _indent(line))
            out.append("")  # the literal block ends the paragraph
            continue
        out.append(line)
        i += 1
    paras: list[str] = []
    glue = ""
    for block in re.split(r"\n\s*\n", "\n".join(out)):
        words = " ".join(x.strip() for x in block.splitlines() if x.strip())
        text = _inline(words.replace(_GLUE, "").replace(_HEAD, ""), labels).strip()
        if not text:
            continue
        if glue and paras:
            paras[-1] = paras[-1] + glue + text
        else:
            paras.append(text)
        glue = " " if words.endswith(_GLUE) else "\n" if words.endswith(_HEAD) else ""
    return "\n\n".join(paras)


def _inline(s: str, labels: dict[str, str] | None = None) -> str:
    s = re.sub(r":[\w:.-]+:`([^`<]*?)\s*<[^`>]*>`", r"\1", s)  # :ref:`text <target>`
    s = re.sub(  # :ref:`label` -> the section title, else the label in words
        r":ref:`([^`]+)`", lambda m: (labels or {}).get(m.group(1).lower(), re.sub(r"[-_]", " ", m.group(1))), s
    )
    s = re.sub(  # :func:`x`, :meth:`~a.b.c` -> c
        r":[\w:.-]+:`([!~]?)([^`]*)`", lambda m: m.group(2).split(".")[-1] if m.group(1) == "~" else m.group(2), s
    )
    s = re.sub(r"``([^`]+)``", r"\1", s)
    s = re.sub(r"`([^`<]*?)\s*<[^`>]*>`_{1,2}", r"\1", s)
    s = re.sub(r"`([^`]+)`_{0,2}", r"\1", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"\1", s)
    s = re.sub(  # *emphasis*, but not the "*" of a signature such as f(a, *, key=None)
        r"(?<![\w*])\*([^*\s,][^*]*?)\*(?![\w*])", lambda m: m.group(0) if ", " in m.group(1) else m.group(1), s
    )
    s = re.sub(r"\s*\[#\w*\]_", "", s)
    s = re.sub(r"\|(\w[\w -]*)\|", r"\1", s)
    s = s.replace("\\", "")
    return re.sub(r"\s+", " ", s)


_MODULE_TITLE = re.compile(r"^:mod:`!?([\w.]+)`\s*(?:---|--|—)\s*(.+)$")


def module_page(rst: str, max_chars: int = 3500, labels: dict[str, str] | None = None) -> dict | None:
    """``{"subject", "title", "text"}`` for a library page titled ``:mod:`name` --- what``, or None.

    The text starts with the title line ("heapq — Heap queue algorithm") and is cut at the last
    paragraph break before ``max_chars``.
    """
    first = next((ln.strip() for ln in rst.splitlines() if ln.strip() and not _ADORN.match(ln.strip())), "")
    m = _MODULE_TITLE.match(first)
    if not m:
        return None
    subject, what = m.group(1), _inline(m.group(2)).strip()
    body = rst_to_text(rst, labels).split("\n\n")
    rest = body[0].split("\n", 1)[1:]  # body[0] is the title (as rst_to_text renders it) + what follows
    paras = [f"{subject} — {what}"] + rest + body[1:]
    text = paras[0]
    for p in paras[1:]:
        if len(text) + 2 + len(p) > max_chars:
            break
        text += "\n\n" + p
    return {"subject": subject, "title": f"{subject} — {what}", "text": text}


def build_pydoc_modules(
    src: str | Path = "/usr/share/doc/python3.11/html/_sources",
    out: str | Path | None = None,
    n_docs: int = 60,
    max_chars: int = 3500,
    min_chars: int = 1200,
    seed: int = 0,
) -> list[dict]:
    """The shipped evaluation documents: ``n_docs`` standard-library module pages from the
    ``python3.11-doc`` sources (Debian: ``apt-get install python3.11-doc``), a seeded sample of the
    pages whose prose has at least ``min_chars`` characters, each cut to ``max_chars``. Writes a
    gzipped JSON-lines file when ``out`` is given."""
    root = Path(src) / "library"
    if not root.is_dir():
        raise DataError(f"{root}: no Python documentation sources here (apt-get install python3.11-doc)")
    labels: dict[str, str] = {}
    for path in sorted(Path(src).rglob("*.rst.txt")):
        labels.update(rst_labels(path.read_text(encoding="utf-8")))
    pages = []
    for path in sorted(root.glob("*.rst.txt")):
        page = module_page(path.read_text(encoding="utf-8"), max_chars=max_chars, labels=labels)
        if page and len(page["text"]) >= min_chars:
            pages.append({"id": page["subject"], "source": f"library/{path.name}", **page})
    rng = np.random.default_rng(seed)
    keep = sorted(rng.choice(len(pages), size=min(n_docs, len(pages)), replace=False))
    docs = [pages[k] for k in keep]
    if out is not None:
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode("utf-8")
        with open(out, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as f:
            f.write(lines)  # mtime=0: the same sources give a byte-identical file
    return docs


#: The shipped excerpt (see data/late_chunking/README.md); found next to the package in a checkout.
PYDOC_FILE = DATA_DIR / "late_chunking" / "pydoc_modules.jsonl.gz"


def load_pydoc_modules(path: str | Path | None = None) -> list[dict]:
    """The shipped module pages: dicts with ``id``, ``subject``, ``title``, ``source``, ``text``."""
    path = Path(path) if path else PYDOC_FILE
    if not path.is_file():
        raise DataError(f"{path}: missing; run python -m ragcook.data.pydoc on a machine with python3.11-doc")
    return read_jsonl(path)


#: The Python FAQ as a BEIR folder (see data/pyfaq/README.md).
PYFAQ_DIR = DATA_DIR / "pyfaq"
_HEADING = re.compile(r"^([-=~^])\1+\s*$")


def faq_sections(rst: str) -> list[tuple[str, str]]:
    """``(question, answer reST)`` for every heading of an FAQ page that asks a question.

    A question is a heading underlined with ``-`` (the FAQ's question level) or any heading
    ending in "?"; its answer runs to the next heading of any level.
    """
    lines = rst.splitlines()
    heads = [
        i for i in range(len(lines) - 1)
        if lines[i].strip() and _HEADING.match(lines[i + 1].strip()) and len(lines[i + 1].strip()) >= len(lines[i].strip()) - 1
    ]  # fmt: skip
    out = []
    for k, i in enumerate(heads):
        title, mark = lines[i].strip(), lines[i + 1].strip()[0]
        end = heads[k + 1] if k + 1 < len(heads) else len(lines)
        if mark == "-" or title.endswith("?"):
            out.append((title, "\n".join(lines[i + 2 : end])))
    return out


def build_python_faq(src: str | Path = "/usr/share/doc/python3.11/html/_sources", out: str | Path | None = None) -> Dataset:
    """The Python FAQ (``faq/*.rst.txt`` of ``python3.11-doc``) as a dataset: question -> its answer.

    Answers are converted to text with :func:`rst_to_text`; ones that say nothing once code is
    removed are dropped with their question. Writes a BEIR folder when ``out`` is given.
    """
    root = Path(src) / "faq"
    if not root.is_dir():
        raise DataError(f"{root}: no Python FAQ sources here (apt-get install python3.11-doc)")
    corpus, queries, qrels = {}, {}, {}
    for path in sorted(root.glob("*.rst.txt")):
        page = path.name.removesuffix(".rst.txt")
        for n, (question, body) in enumerate(faq_sections(path.read_text(encoding="utf-8")), 1):
            answer = rst_to_text(body).strip()
            if len(answer.split()) < 5:
                continue
            qid = f"{page}-{n:02d}"
            queries[qid], corpus[f"{qid}-a"], qrels[qid] = _inline(question).strip(), answer, {f"{qid}-a": 1}
    ds = Dataset(corpus, queries, qrels, name="python-faq/test", meta={"lang": "en", "source": "python3.11-doc faq"})
    if out is not None:
        save_beir(ds, out)
    return ds


def load_python_faq() -> Dataset:
    """The shipped Python FAQ (``data/pyfaq``): human questions about Python, each with its answer."""
    if not (PYFAQ_DIR / "corpus.jsonl").is_file():
        raise DataError(f"{PYFAQ_DIR}: missing; run python -m ragcook.data.pydoc on a machine with python3.11-doc")
    return load_beir(PYFAQ_DIR, lang="en")


if __name__ == "__main__":  # rebuild the shipped files: python -m ragcook.data.pydoc [SRC]
    import sys

    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/doc/python3.11/html/_sources"
    built = build_pydoc_modules(src, out=PYDOC_FILE)
    print(f"{PYDOC_FILE}: {len(built)} module pages, {sum(len(d['text']) for d in built):,} characters")
    faq = build_python_faq(src, out=PYFAQ_DIR)
    print(f"{PYFAQ_DIR}: {faq!r}")
