"""Hard negatives: passages the base model ranks high for a query that are not its answer.

For each query, rank every passage with the base model, then draw ``n`` negatives at random
from ranks ``lo`` to ``hi``. The defaults, 7 negatives from ranks 10 to 100, are the source
material's recipe. (FlagEmbedding's ``hn_mine.py`` defaults to ``--range_for_sampling 10-210``
and ``--negative_number 15``; its README example uses ``2-200``.) Skipping the top ranks avoids
most false negatives: passages that do answer the query but were never labelled.
:func:`top_negatives` shows the highest-scoring ones so a reader can spot those.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from ragcook.encode.backends import TRAIN_BACKEND
from ragcook.errors import RagcookError
from ragcook.models import DEFAULT_MODEL
from ragcook.retrieve import Dense
from ragcook.retrieve.topk import top_k_indices
from ragcook.train.samples import Sample


@dataclass
class MinedNegative:
    query: str
    text: str
    rank: int
    score: float


def _rank(queries: list[str], passages: list[str], model: str, query_prompt: str, depth: int, dense=None):
    """The ``depth`` best passage indices per query, best first, and their scores."""
    enc = dense or Dense(model=model, query_prompt=query_prompt, backend=TRAIN_BACKEND)
    pv = enc.encode(passages, desc="passages")
    qv = enc.encode(queries, prompt=query_prompt, desc="queries")
    scores = qv @ pv.T
    top = top_k_indices(scores, depth)
    return top, np.take_along_axis(scores, top, axis=1)


def mine_hard_negatives(
    samples: list[Sample],
    passages: list[str] | None = None,
    model: str = DEFAULT_MODEL,
    n: int = 7,
    ranks: tuple[int, int] = (10, 100),
    query_prompt: str = "",
    seed: int = 13,
    dense=None,
) -> list[Sample]:
    """Return new samples whose ``neg`` holds ``n`` passages drawn from ranks ``ranks[0]..ranks[1]``.

    ``passages`` is the pool to rank (default: every positive of every sample). A positive of the
    query, or any passage equal to one, is never taken. Ranks count from 1. If the window holds
    fewer than ``n`` candidates, the next ranks below it are used, then random passages.
    """
    lo, hi = ranks
    if not 1 <= lo < hi:
        raise RagcookError(f"mine_hard_negatives: ranks must satisfy 1 <= lo < hi, got {ranks}")
    if n < 1:
        raise RagcookError("mine_hard_negatives: n must be at least 1")
    pool = list(dict.fromkeys(passages if passages is not None else [p for s in samples for p in s.pos]))
    if len(pool) < 2:
        raise RagcookError("mine_hard_negatives: the passage pool needs at least 2 passages")
    rng = random.Random(seed)
    top, _ = _rank([s.query for s in samples], pool, model, query_prompt, depth=min(len(pool), hi + 50), dense=dense)
    out = []
    for s, row in zip(samples, top):
        positives = set(s.pos)
        ranked = [pool[j] for j in row if pool[j] not in positives]
        window = ranked[lo - 1 : hi]
        if len(window) >= n:
            neg = rng.sample(window, n)
        else:
            neg = window + ranked[hi : hi + n - len(window)]
            rest = [p for p in pool if p not in positives and p not in neg]
            neg += rng.sample(rest, min(n - len(neg), len(rest)))
        out.append(Sample(s.query, list(s.pos), neg))
    return out


def top_negatives(
    samples: list[Sample], passages: list[str], model: str = DEFAULT_MODEL, n: int = 3, query_prompt: str = "", dense=None
) -> list[MinedNegative]:
    """The ``n`` highest-ranked non-positive passages per query: where false negatives hide."""
    top, scores = _rank([s.query for s in samples], passages, model, query_prompt, depth=n + 10, dense=dense)
    out = []
    for s, row, sc in zip(samples, top, scores):
        kept = 0
        for rank, (j, score) in enumerate(zip(row, sc), 1):
            if passages[j] in s.pos:
                continue
            out.append(MinedNegative(s.query, passages[j], rank, float(score)))
            kept += 1
            if kept == n:
                break
    return out
