import numpy as np
import pytest

from ragcook import environment
from ragcook.retrieve import bm25_by_hand as bm25

DOCS = [["the", "cat", "sat", "on", "the", "mat"], ["dogs", "chase", "the", "cat"], ["insurance", "pays", "claims"]]


def test_hand_written_bm25_equals_bm25s():
    import bm25s

    r = bm25s.BM25(k1=1.5, b=0.75)
    r.index(DOCS, show_progress=False)
    query = ["cat", "mat"]
    ours = bm25.bm25_scores(query, DOCS)
    theirs = r.get_scores(query)
    assert ours == pytest.approx(np.asarray(theirs), abs=1e-6)
    assert ours.argmax() == 0 and ours[2] == 0.0


def test_idf_favours_rare_terms_and_document_vector_is_sparse():
    assert bm25.idf("mat", DOCS) > bm25.idf("the", DOCS)
    vec = bm25.document_vector(0, DOCS)
    assert set(vec) == {"the", "cat", "sat", "on", "mat"}
    assert vec["mat"] > vec["cat"]  # same tf, rarer


def test_environment_check_finds_models():
    rows = {r["what"]: r for r in environment.check()}
    assert rows["model minilm"]["ok"] and rows["torch"]["ok"]


def test_word_overlap_counts_stemmed_content_words():
    assert bm25.word_overlap("car insurance covering accidents?", "An accident is covered by car insurance.") == 1.0
    assert bm25.word_overlap("rental cars", "term life policy") == 0.0
