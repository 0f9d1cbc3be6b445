"""Warm the cache before a workshop: run every notebook once, headless, and throw the outputs away.

    make warm            # or: python scripts/warm.py [notebooks/04_*.ipynb ...]

Running the notebooks themselves is the only warm-up that cannot miss a cache a notebook needs
(vectors, converted and fine-tuned models, the cross-encoder, the word2vec models). The
notebooks in ``notebooks/`` are not touched: each runs in memory. The seconds per
notebook are printed: the second ``make warm`` shows the warm times of WORKSHOP.md's table.
"""

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAGCOOK_CACHE", str(ROOT / ".cache" / "ragcook"))


def warm(paths: list[Path]) -> dict[str, float]:
    """Execute each notebook from a copy; return its seconds. A failing notebook stops the warm-up."""
    seconds = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        # executed in memory and never written back; relative paths resolve from notebooks/, as in Jupyter
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        seconds[path.name] = time.perf_counter() - start
        print(f"{path.name:45s} {seconds[path.name]:6.1f} s", flush=True)
    return seconds


if __name__ == "__main__":
    args = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    total = sum(warm(args).values())
    print(f"warm: {len(args)} notebooks in {total / 60:.1f} min; the cache is {os.environ['RAGCOOK_CACHE']}")
