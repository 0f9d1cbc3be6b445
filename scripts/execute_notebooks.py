"""Execute notebooks in place and save their outputs, the way the repository commits them.

    python scripts/execute_notebooks.py notebooks/03_sparse_vs_dense.ipynb [...]

Progress bars are switched off (TQDM_DISABLE=1) so saved outputs stay small; the timing of
each notebook is printed, to check the 3-minute budget.
"""

import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAGCOOK_CACHE", str(Path(__file__).resolve().parents[1] / ".cache" / "ragcook"))


#: A progress bar some library draws on stderr regardless of TQDM_DISABLE ("Computing widget examples:   0%|").
PROGRESS = re.compile(r"\d+%\|")


def is_progress_bar(output) -> bool:
    """A progress-bar widget, or a stderr output whose every line is a progress bar."""
    if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
        return True
    lines = [line for line in output.get("text", "").splitlines() if line.strip()]
    return output.get("name") == "stderr" and bool(lines) and all(PROGRESS.search(line) for line in lines)


def drop_progress_bars(nb) -> None:
    """Remove progress bars from the outputs, so committed outputs stay small and stable."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not is_progress_bar(o)]
    nb.metadata.pop("widgets", None)  # the bars' widget state


def main(paths: list[str]) -> int:
    for p in paths:
        path = Path(p)
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
        for cell in nb.cells:  # drop execution timing metadata noise
            cell.get("metadata", {}).pop("execution", None)
        drop_progress_bars(nb)
        nbformat.write(nb, path)
        print(f"{path}: {time.perf_counter() - start:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
