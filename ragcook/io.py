"""Reading and writing JSON Lines: the one implementation every module uses.

Two reading modes, because two kinds of file exist:

* **inputs** (a reader's corpus, queries, samples): strict. Any malformed line, bad byte or
  wrong type is a :class:`~ragcook.errors.DataError` naming ``FILE:LINE``.
* **resumable outputs** (generation files, logs that a run appends to): a run killed mid-write
  leaves a torn *last* line, without its newline. That one line is tolerated, and
  :func:`append_jsonl` cuts it off before writing, so a new row never fuses with it. A
  malformed line anywhere else is still an error: it means the file is damaged, not interrupted.

Gzipped files (``*.gz``) are read transparently.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ragcook.errors import DataError


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot be read ({e})") from None


def _decode(path: Path, data: bytes, offset: int) -> str:
    try:
        return data.decode("utf-8-sig" if offset == 0 else "utf-8")  # a byte-order mark at the start is allowed
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text (byte {offset + e.start}: {e.reason})") from None


def iter_jsonl(path: str | Path, resumable: bool = False) -> Iterator[tuple[int, object]]:
    """Yield ``(line number, parsed value)`` for each non-blank line of ``path``.

    Strict by default; ``resumable=True`` skips a torn last line (one without its newline), even
    one cut inside a multi-byte character. Every failure is a :class:`DataError` naming the file
    and, where there is one, the line.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a JSON Lines file")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    data = _read_bytes(path)
    cut = data.rfind(b"\n") + 1  # the complete lines end here; after it, a torn line or nothing
    text = _decode(path, data[:cut], 0)
    try:
        torn = _decode(path, data[cut:], cut)
    except DataError:
        if not resumable:
            raise
        torn = ""  # an interrupted write, cut inside a character
    lines = (text + torn).split("\n")
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, or an integer too long to convert
            if resumable and lineno == len(lines) and torn:
                return  # an interrupted write: the last line never got its newline
            msg = e.msg if isinstance(e, json.JSONDecodeError) else str(e) or "nested too deeply"
            raise DataError(f"{path}:{lineno}: malformed JSON line ({msg})") from None


def read_jsonl(path: str | Path, resumable: bool = False) -> list[dict]:
    """All rows of a JSONL file, each a JSON object (see :func:`iter_jsonl` for the modes)."""
    rows = []
    for lineno, row in iter_jsonl(path, resumable=resumable):
        if not isinstance(row, dict):
            raise DataError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    return rows


def repair_torn_tail(path: str | Path) -> int:
    """Cut a torn last line (no trailing newline) off ``path``; return the bytes removed.

    Called before appending, so the next row starts on a line of its own. A last line that is
    whole JSON and lacks only its newline (killed between the two) is kept: it gets its newline.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return 0
    with path.open("rb+") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(max(0, size - 1))
        if f.read(1) == b"\n":
            return 0
        # walk back to the last newline
        pos, block = size, 1 << 16
        keep = 0
        while pos > 0:
            start = max(0, pos - block)
            f.seek(start)
            chunk = f.read(pos - start)
            i = chunk.rfind(b"\n")
            if i >= 0:
                keep = start + i + 1
                break
            pos = start
        f.seek(keep)
        if _is_json(f.read(size - keep)):
            f.write(b"\n")
            return 0
        f.truncate(keep)
        return size - keep


def _is_json(line: bytes) -> bool:
    """Whether ``line`` is a whole JSON object (a cut one never is)."""
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return False


def append_jsonl(path: str | Path, rows: Iterable[dict]) -> int:
    """Append rows to a resumable JSONL file, one flushed line each; return how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    repair_torn_tail(path)
    n = 0
    with path.open("a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            n += 1
    return n


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> Path:
    """Write rows to ``path`` atomically (a temporary file, then a rename); ``*.gz`` is gzipped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    opener = (
        (lambda p: gzip.open(p, "wt", encoding="utf-8")) if path.suffix == ".gz" else (lambda p: p.open("w", encoding="utf-8"))
    )
    with opener(tmp) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path


@contextmanager
def working_copy(path: str | Path) -> Iterator[Path]:
    """A file to append to for ``path``: itself, or for a ``*.gz`` a plain copy beside it.

    A gzip stream cannot be appended to line by line, so a resumable run works on
    ``name.jsonl`` (unpacked from ``name.jsonl.gz`` when it is missing) and the ``.gz`` is
    rewritten from it on exit, also after an interruption: the ``.gz`` is always complete.
    """
    path = Path(path)
    if path.suffix != ".gz":
        yield path
        return
    work = path.with_suffix("")
    if not work.exists() and path.is_file():
        with gzip.open(path, "rb") as src, work.open("wb") as dst:
            shutil.copyfileobj(src, dst)
    try:
        yield work
    finally:
        if work.is_file():
            repair_torn_tail(work)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with work.open("rb") as src, open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, path)
