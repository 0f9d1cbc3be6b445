"""Solutions to notebook 09's exercises (checked by tests/test_exercises.py)."""

import json

import torch
import torch.nn.functional as F


def flag_line(query, positives, negatives):
    """One FlagEmbedding JSONL line: blank texts and repeats dropped, no positive among the negatives."""
    pos = list(dict.fromkeys(p for p in positives if p.strip()))
    neg = [n for n in dict.fromkeys(n for n in negatives if n.strip()) if n not in pos]
    return json.dumps({"query": query, "pos": pos, "neg": neg}, ensure_ascii=False)


def group_loss(q, passages, group_size, temperature):
    """InfoNCE over all passages of the batch; query i's positive is passage i * group_size."""
    scores = F.normalize(q, dim=-1) @ F.normalize(passages, dim=-1).T / temperature
    return F.cross_entropy(scores, torch.arange(q.shape[0]) * group_size)
