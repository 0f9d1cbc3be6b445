"""ragcook.wordvec: corpora, reproducible Word2Vec, analogy and similarity scores."""

import numpy as np
import pytest
from gensim.models import KeyedVectors

from ragcook.encode import wordvec as W
from ragcook.errors import DataError, RagcookError

TINY = [
    "the cat sat on the mat with the dog".split(),
    "the dog sat on the rug with the cat".split(),
    "a cat and a dog play in the garden".split(),
] * 30


def test_parse_tagged_strips_tags_and_brackets():
    line = "迈向/v  充满/v  希望/n  [中国/ns  政府/n]nt  ——/w  http://x/y/n"
    assert W.parse_tagged(line) == [
        ("迈向", "v"),
        ("充满", "v"),
        ("希望", "n"),
        ("中国", "ns"),
        ("政府", "n"),
        ("——", "w"),
        ("http://x/y", "n"),
    ]
    assert W.parse_tagged("   ") == []


def test_peoples_daily_reads_a_file(tmp_path):
    f = tmp_path / "pd.txt"
    f.write_text("长/a  时间/n\n\n孩子/n  长/v  高/a  了/y\n", encoding="utf-8")
    assert W.peoples_daily(f) == [["长", "时间"], ["孩子", "长", "高", "了"]]
    tagged = W.peoples_daily(f, tags=True)
    assert W.tag_counts(tagged, "长") == {"a": 1, "v": 1}
    assert W.contexts(tagged, "长", "v", min_len=1) == ["孩子长高了"]
    assert W.contexts(tagged, "长", min_len=1) == ["长时间", "孩子长高了"]
    assert W.contexts(tagged, "长", "v", min_len=6) == []
    with pytest.raises(DataError):
        W.peoples_daily(tmp_path / "missing.txt")


def test_bundled_corpora_are_there():
    assert W.peoples_daily_path().stat().st_size > 1_000_000
    lee = W.gensim_corpus("lee_background.cor")
    assert len(lee) > 200 and all(t == t.lower() for t in lee[0])
    with pytest.raises(DataError):
        W.gensim_data("no-such-file.txt")
    assert W.tokenize("The Cat's 2 hats!") == ["the", "cat", "hats"]


def test_train_is_reproducible_and_sg_differs_from_cbow():
    a = W.train(TINY, sg=True, vector_size=16, min_count=2, epochs=3)
    b = W.train(TINY, sg=True, vector_size=16, min_count=2, epochs=3)
    c = W.train(TINY, sg=False, vector_size=16, min_count=2, epochs=3)
    assert a.sg == 1 and c.sg == 0
    assert "cat" in a.wv and a.wv.vector_size == 16
    assert np.array_equal(a.wv["cat"], b.wv["cat"])
    assert not np.allclose(a.wv["cat"], c.wv["cat"])
    assert a.total_train_time > 0
    table = W.neighbours(a.wv, ["cat", "zebra"], topn=3)
    assert list(table.index) == ["cat"] and len(table.loc["cat", "nearest words"].split(", ")) == 3


def test_train_rejects_bad_corpora():
    with pytest.raises(RagcookError, match="empty"):
        W.train([])
    with pytest.raises(RagcookError, match="tokenized"):
        W.train(["a plain string"])
    with pytest.raises(RagcookError, match="min_count"):
        W.train([["rare", "words"]], min_count=5)


def _kv(words: dict[str, list[float]]) -> KeyedVectors:
    kv = KeyedVectors(vector_size=len(next(iter(words.values()))))
    kv.add_vectors(list(words), np.array(list(words.values()), dtype=np.float32))
    return kv


def test_evaluate_analogies(tmp_path):
    # king - man + woman = queen exactly; paris - france + italy = rome exactly.
    kv = _kv(
        {
            "man": [1, 0, 0, 0, 0],
            "woman": [0, 1, 0, 0, 0],
            "king": [1, 0, 1, 0, 0],
            "queen": [0, 1, 1, 0, 0],
            "france": [0, 0, 0, 1, 0],
            "italy": [0, 0, 0, 0, 1],
            "paris": [0, 0, 1, 1, 0],
            "rome": [0, 0, 1, 0, 1],
        }
    )
    f = tmp_path / "q.txt"
    f.write_text(
        ": family\nman woman king queen\nman woman prince princess\n: gram1\nfrance italy paris rome\nfrance italy paris queen\n",
        encoding="utf-8",
    )
    r = W.evaluate_analogies(kv, f)
    assert (r.total, r.covered, r.correct) == (4, 3, 2)
    assert r.accuracy == pytest.approx(2 / 3) and r.coverage == pytest.approx(0.75)
    assert r.sections == {"family": (1, 1), "gram1": (1, 2)}
    assert r.by_kind() == {"semantic": 1.0, "syntactic": 0.5}
    (tmp_path / "empty.txt").write_text(": only a header\n", encoding="utf-8")
    with pytest.raises(DataError):
        W.evaluate_analogies(kv, tmp_path / "empty.txt")


def test_evaluate_similarity(tmp_path):
    kv = _kv({"a": [1, 0], "b": [0.9, 0.1], "c": [0.5, 0.5], "d": [0, 1]})
    f = tmp_path / "pairs.tsv"
    f.write_text("# comment\na\tb\t9\na\tc\t5\na\td\t1\nb\td\t1.5\na\tzzz\t3\n", encoding="utf-8")
    r = W.evaluate_similarity(kv, f)
    assert (r.covered, r.total, r.name) == (4, 5, "pairs")
    assert r.spearman == pytest.approx(1.0)
    with pytest.raises(RagcookError, match="pairs are in the vocabulary"):
        W.evaluate_similarity(_kv({"x": [1.0, 0.0]}), "wordsim353")
    with pytest.raises(DataError):
        W.evaluate_similarity(kv, tmp_path / "nope.tsv")


def test_project_2d_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    xy = W.project_2d(np.random.default_rng(0).normal(size=(6, 10)))
    assert xy.shape == (6, 2)
    kv = _kv({"a": [1, 0, 0], "b": [0, 1, 0], "c": [0, 0, 1]})
    ax = W.plot_words(kv, ["a", "b", "c", "unknown"])
    assert len(ax.texts) == 3
    with pytest.raises(RagcookError):
        W.plot_words(kv, ["a", "unknown"])
