"""Tables and plots of retrieval results, for the CLI's output folder and the notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

PRETTY = {"ndcg@10": "nDCG@10", "recall@10": "Recall@10", "mrr@10": "MRR@10", "hit@10": "Hit@10", "map": "MAP"}


def results_frame(results: dict[str, dict[str, float]]) -> pd.DataFrame:
    """retriever -> metric -> value, as a table with one row per retriever."""
    return pd.DataFrame(results).T


def format_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A plain-text table (Markdown pipe syntax) for terminals and reports."""
    cols = list(df.columns)
    header = "| retriever | " + " | ".join(PRETTY.get(c, c) for c in cols) + " |"
    sep = "|---|" + "|".join("---:" for _ in cols) + "|"
    rows = [f"| {name} | " + " | ".join(_fmt(row[c], digits) for c in cols) + " |" for name, row in df.iterrows()]
    return "\n".join([header, sep, *rows])


def _fmt(v, digits: int) -> str:
    return f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def bar_chart(df: pd.DataFrame, path: str | Path, metrics=("ndcg@10", "recall@10", "mrr@10"), title: str = ""):
    """Grouped bars: one group per metric, one bar per retriever. Saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in metrics if m in df.columns]
    fig, ax = plt.subplots(figsize=(1.6 + 1.2 * len(df) * len(metrics) / 2, 3.6))
    width = 0.8 / max(len(df), 1)
    for i, (name, row) in enumerate(df.iterrows()):
        xs = [j + i * width for j in range(len(metrics))]
        bars = ax.bar(xs, [row[m] for m in metrics], width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7, padding=1)
    ax.set_xticks([j + width * (len(df) - 1) / 2 for j in range(len(metrics))])
    ax.set_xticklabels([PRETTY.get(m, m) for m in metrics])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.legend(fontsize=8, loc="upper left", ncols=min(len(df), 4))
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def write_results(df: pd.DataFrame, out: str | Path, meta: dict | None = None, title: str = "") -> dict[str, Path]:
    """Write ``results.json``, ``results.csv`` and ``results.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "csv": out / "results.csv", "png": out / "results.png"}
    payload = {"meta": meta or {}, "results": {k: dict(v) for k, v in df.T.to_dict().items()}}
    paths["json"].write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    df.to_csv(paths["csv"], index_label="retriever", float_format="%.6f")
    bar_chart(df, paths["png"], title=title)
    return paths
