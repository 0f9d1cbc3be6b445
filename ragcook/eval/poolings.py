"""Notebook 02's experiments on sentence vectors: which pooling retrieves best, and anisotropy.

Every pooling's vectors come from one pass of :func:`ragcook.encode.pooling.encode_poolings`;
here they are scored on a dataset, and the cosines of unrelated pairs are measured (BERT's
vectors crowd into a narrow cone, so any two texts look alike).
"""

from __future__ import annotations

import numpy as np

from ragcook.encode.pooling import normalize
from ragcook.errors import RagcookError
from ragcook.eval.metrics import evaluate
from ragcook.retrieve.topk import search

SEED = 13


def compare_poolings(
    ds, query_vecs: dict[str, np.ndarray], doc_vecs: dict[str, np.ndarray], metrics=("ndcg@10", "recall@10", "mrr@10")
):
    """One row per pooling: retrieval metrics on ``ds`` when queries and documents use that pooling.

    ``query_vecs`` / ``doc_vecs`` come from :func:`encode_poolings` over ``ds.queries`` and
    ``ds.corpus`` (in their dict order).
    """
    import pandas as pd

    rows = {}
    for name, d in doc_vecs.items():
        if name not in query_vecs:
            raise RagcookError(f"compare_poolings: pooling {name!r} has document vectors but no query vectors")
        run = search(normalize(query_vecs[name]), normalize(d), list(ds.queries), list(ds.corpus), k=100)
        rows[name] = evaluate(ds.qrels, run, metrics=metrics)
    return pd.DataFrame(rows).T.rename_axis("pooling")


def random_pair_cosines(vecs: np.ndarray, n_pairs: int = 5000, seed: int = SEED) -> np.ndarray:
    """Cosines between ``n_pairs`` random pairs of different rows: for unrelated texts, ideally near 0.

    Ethayarajh (2019) found that BERT's vectors occupy a narrow cone (they are *anisotropic*):
    any two texts have a high cosine, which squeezes the range similarity scores can use.
    """
    vecs = normalize(np.asarray(vecs, dtype=np.float32))
    if len(vecs) < 2:
        raise RagcookError("random_pair_cosines: need at least two vectors")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(vecs), n_pairs)
    j = (i + rng.integers(1, len(vecs), n_pairs)) % len(vecs)  # never the same row
    return np.einsum("ij,ij->i", vecs[i], vecs[j])


def plot_cosine_histograms(cosines: dict[str, np.ndarray], ax=None, bins: int = 60, title: str = ""):
    """Overlaid histograms of cosine similarities, one per pooling."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for name, c in cosines.items():
        ax.hist(c, bins=bins, range=(-0.2, 1.0), histtype="step", linewidth=1.5, label=f"{name} (mean {np.mean(c):.2f})")
    ax.set_xlabel("cosine between two random, mostly unrelated answers")
    ax.set_ylabel("pairs")
    ax.set_title(title or "anisotropy: how similar are unrelated texts?")
    ax.legend(fontsize=8)
    return ax
