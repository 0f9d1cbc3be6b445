"""The two shapes every stage passes around, named once.

A ``Run`` is what TREC tools call a run: query id -> {document id: score}, higher is better.
``Qrels`` are relevance judgements: query id -> {document id: grade}, grade > 0 is relevant.
"""

from __future__ import annotations

Run = dict[str, dict[str, float]]
Qrels = dict[str, dict[str, int]]
