"""Evaluation done properly: metrics, paired tests, the leaderboard, and each lesson's experiment.

``from ragcook.eval import evaluate, compare`` covers the common case.
"""

from ragcook.eval.metrics import DEFAULT_METRICS, compare, evaluate, per_query
from ragcook.eval.stats import bootstrap_ci, paired_test

__all__ = ["DEFAULT_METRICS", "bootstrap_ci", "compare", "evaluate", "paired_test", "per_query"]
