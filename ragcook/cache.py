"""An on-disk cache for embeddings, so the same corpus is encoded once per model.

Files live under ``$RAGCOOK_CACHE`` (default ``~/.cache/ragcook``), named by a hash of the
model key and the exact texts: change either and the cache misses. Delete the folder to reset.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import numpy as np


def cache_dir() -> Path:
    path = Path(os.environ.get("RAGCOOK_CACHE", Path.home() / ".cache" / "ragcook"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def texts_key(texts: list[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def cached_embeddings(
    model_key: str, texts: list[str], compute: Callable[[list[str]], np.ndarray], min_size: int = 32
) -> np.ndarray:
    """Return ``compute(texts)``, read from / written to the cache for lists of ``min_size`` or more."""
    if len(texts) < min_size or os.environ.get("RAGCOOK_NO_CACHE"):
        return compute(texts)
    name = hashlib.sha256(f"{model_key}|{texts_key(texts)}".encode()).hexdigest()[:32]
    path = cache_dir() / f"emb-{name}.npy"
    if path.is_file():
        return np.load(path)
    vecs = compute(texts)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vecs)
    os.replace(tmp, path)
    return vecs
