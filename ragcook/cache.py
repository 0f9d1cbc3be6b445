"""The one on-disk cache: vectors are computed once per model and text list, then read back.

Files live under ``$RAGCOOK_CACHE`` (default ``~/.cache/ragcook``), named by a hash of a key
(the model's fingerprint and settings) and the exact texts: change either and the cache
misses. A dense result is stored as ``.npy``; a ``(dense or None, scipy sparse)`` pair, as
sparse encoders return, and a dict of named arrays (ragged token vectors: one flat matrix and
the offsets where each text starts) as ``.npz``. Writes go to a temporary file and are renamed, so an
interrupted run never leaves a half-written entry. Delete the folder to reset.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np


def cache_dir() -> Path:
    """The cache folder, created on first use."""
    path = Path(os.environ.get("RAGCOOK_CACHE", Path.home() / ".cache" / "ragcook"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def building(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` while ``path`` is built.

    Two notebooks open at once, or two test workers, may ask for the same model: the second waits
    here, then finds the finished folder instead of training into the same one. Callers go through
    :func:`build_once`, which checks for the finished entry again once it holds the lock. Without ``fcntl`` (Windows) it does nothing.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_once(path: Path, ready: Callable[[], bool], build: Callable[[], object]) -> None:
    """Build ``path`` unless ``ready()``: ``build()`` runs under :func:`building`'s lock, and only if
    ``ready()`` is still false once the lock is held (another process may have built it meanwhile).

    The one check-lock-check for everything trained or converted into the cache.
    """
    if ready():
        return
    with building(path):
        if not ready():
            build()


def trained_dir(folder: str, base: str | os.PathLike, settings: dict, tag: str = "") -> Path:
    """Where a model trained here is cached: ``cache_dir()/folder/<base name>[-tag]-<hash of settings>``.

    The one naming rule for every trained model (fine-tuned, Matryoshka, cross-encoder, multi-vector,
    Chinese): change a setting and the folder changes, so a model is never reused under other settings.
    """
    blob = json.dumps(settings, sort_keys=True)
    key = hashlib.sha256((f"{tag}|{blob}" if tag else blob).encode()).hexdigest()[:10]
    name = "-".join(p for p in (Path(str(base)).name, tag, key) if p)
    return cache_dir() / folder / name


def texts_key(texts: list[str]) -> str:
    """A sha256 of the texts, in order (a change to any text changes the key)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _save(path: Path, value) -> None:
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    if path.suffix == ".npy":
        np.save(tmp, value)
    elif isinstance(value, dict):
        np.savez(tmp, __arrays__=np.array(1), **value)
    else:
        dense, m = value
        extra = {"dense": dense} if dense is not None else {}
        np.savez(tmp, data=m.data, indices=m.indices, indptr=m.indptr, shape=np.array(m.shape), **extra)
    os.replace(tmp, path)


def _load(path: Path):
    if path.suffix == ".npy":
        return np.load(path)
    import scipy.sparse as sp

    z = np.load(path)
    if "__arrays__" in z.files:
        return {k: z[k] for k in z.files if k != "__arrays__"}
    m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    return (z["dense"] if "dense" in z else None), m


def cached(key: str, texts: list[str], compute: Callable[[list[str]], object], min_size: int = 32):
    """``compute(texts)``, read from / written to the cache for lists of ``min_size`` or more.

    ``compute`` returns an array, a ``(dense array or None, scipy sparse matrix)`` pair, or a
    dict of named arrays.
    ``RAGCOOK_NO_CACHE=1`` turns the cache off.
    """
    if len(texts) < min_size or os.environ.get("RAGCOOK_NO_CACHE"):
        return compute(texts)
    name = hashlib.sha256(f"{key}|{texts_key(texts)}".encode()).hexdigest()[:32]
    for suffix in (".npy", ".npz"):
        if (cache_dir() / f"emb-{name}{suffix}").is_file():
            return _load(cache_dir() / f"emb-{name}{suffix}")
    value = compute(texts)
    _save(cache_dir() / f"emb-{name}{'.npy' if isinstance(value, np.ndarray) else '.npz'}", value)
    return value
