"""The one top-k: best first, ties by lower index, masked scores never returned, dense or sparse."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ragcook.errors import RagcookError
from ragcook.retrieve.topk import scores_to_run, search, top_k, top_k_indices


def test_best_first_with_ties_by_index():
    s = np.array([[1.0, 3.0, 3.0, 2.0, 0.0], [5.0, 4.0, 3.0, 2.0, 1.0]])
    assert top_k_indices(s, 3).tolist() == [[1, 2, 3], [0, 1, 2]]
    assert top_k_indices(s[0], 2).tolist() == [1, 2]
    assert top_k_indices(s, 99).shape == (2, 5)
    assert top_k_indices(s, 0).shape == (2, 0)
    with pytest.raises(RagcookError):
        top_k_indices(np.zeros((2, 2, 2)), 1)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 30)), elements=st.integers(-3, 3).map(float)),
       st.integers(1, 35))  # fmt: skip
def test_matches_a_full_stable_sort(scores, k):
    want = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    assert top_k_indices(scores, k).tolist() == want.tolist()


def test_masked_and_non_positive_scores_are_dropped():
    s = np.array([[0.5, -np.inf, 0.0, -0.2]])
    assert scores_to_run(s, ["q"], list("abcd"), k=4) == {"q": {"a": 0.5, "c": 0.0, "d": -0.2}}
    assert scores_to_run(s, ["q"], list("abcd"), k=4, positive_only=True) == {"q": {"a": 0.5}}
    with pytest.raises(RagcookError):
        scores_to_run(s, ["q", "r"], list("abcd"))


def test_dense_and_sparse_search_agree():
    q = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    d = np.array([[0.0, 1.0], [1.0, 0.1], [0.7, 0.7]], dtype=np.float32)
    dense = search(q, d, ["q1", "q2"], ["a", "b", "c"], k=2)
    assert list(dense["q1"]) == ["b", "c"] and list(dense["q2"]) == ["a", "c"]
    sparse = search(sp.csr_matrix(q), sp.csr_matrix(d), ["q1", "q2"], ["a", "b", "c"], k=2, batch=1)
    assert sparse.keys() == dense.keys() and all(sparse[q] == pytest.approx(dense[q]) for q in dense)
    with pytest.raises(RagcookError):
        search(q, d, ["q1"], ["a", "b", "c"])


def test_top_k_of_a_run():
    assert top_k({"q": {"a": 0.1, "b": 0.9, "c": 0.5}}, 2) == {"q": {"b": 0.9, "c": 0.5}}
