"""Exercises of notebook 09 (fine-tuning with FlagEmbedding: the JSONL samples and the group loss)."""

from __future__ import annotations

import json

import torch
import torch.nn.functional as F


def _flag_line(fn) -> None:
    line = fn("什么是免赔额?", ["A deductible is paid first.", "  ", "A deductible is paid first."],
              ["Fire is covered.", "A deductible is paid first.", "", "Floods need a rider."])  # fmt: skip
    assert isinstance(line, str), f"return one line of text (a JSON object), got {type(line).__name__}"
    assert "\n" not in line, "a JSONL line holds no newline (json.dumps writes none unless you indent)"
    row = json.loads(line)
    assert list(row) == ["query", "pos", "neg"], f"the keys are query, pos, neg, in that order; got {list(row)}"
    assert "什么是免赔额" in line, "keep non-ASCII text readable: json.dumps(..., ensure_ascii=False)"
    assert row["query"] == "什么是免赔额?", f"the query is kept as it is, got {row['query']!r}"
    assert row["pos"] == ["A deductible is paid first."], (
        f"pos: drop empty or blank texts and repeats (keep the first), got {row['pos']}"
    )
    assert row["neg"] == ["Fire is covered.", "Floods need a rider."], (
        f"neg: drop blank texts, repeats, and any text that is also a positive (a false negative), got {row['neg']}"
    )
    empty = json.loads(fn("q", ["p"], []))
    assert empty["neg"] == [], "no negatives: neg is an empty list (FlagEmbedding then uses in-batch ones only)"


def _group_loss(fn) -> None:
    gen = torch.Generator().manual_seed(9)
    q, p = torch.randn(3, 8, generator=gen), torch.randn(6, 8, generator=gen) * 4
    scores = F.normalize(q, dim=-1) @ F.normalize(p, dim=-1).T / 0.05
    want = F.cross_entropy(scores, torch.arange(3) * 2).item()
    got = float(fn(q, p, 2, 0.05))
    wrong_labels = F.cross_entropy(scores, torch.arange(3)).item()
    assert abs(got - wrong_labels) > 1e-4, (
        "query i's positive is passage i * group_size (each group is [positive, negative, ...]), not passage i"
    )
    own_group = torch.stack([F.cross_entropy(scores[i, 2 * i : 2 * i + 2], torch.tensor(0)) for i in range(3)]).mean()
    assert abs(got - own_group.item()) > 1e-4, (
        "every passage of the batch is a candidate: the other groups are in-batch negatives"
    )
    assert abs(got - want) < 1e-4, (
        f"group_loss(q, p, 2, 0.05) should be {want:.4f}: cross-entropy of the cosine matrix / temperature, "
        f"label i * group_size; got {got:.4f}"
    )
    want4 = F.cross_entropy(F.normalize(q[:1], dim=-1) @ F.normalize(p[:4], dim=-1).T / 0.02, torch.tensor([0])).item()
    assert abs(float(fn(q[:1], p[:4], 4, 0.02)) - want4) < 1e-4, "with one query and group size 4 its positive is passage 0"


CHECKS = {"09.1": ("flag_line", _flag_line), "09.2": ("group_loss", _group_loss)}
