import pytest

from ragcook import data
from ragcook.data.insuranceqa import SMALL_CORPUS_SIZE, SMALL_MAX_QUERIES
from ragcook.errors import DataError


def tiny() -> data.Dataset:
    return data.Dataset(
        corpus={"d1": "the cat sat", "d2": "dogs bark loudly", "d3": "人寿保险"},
        queries={"q1": "where did the cat sit", "q2": "what do dogs do"},
        qrels={"q1": {"d1": 1}, "q2": {"d2": 2}},
        name="tiny",
    )


def test_insuranceqa_small_profile_is_deterministic_and_consistent():
    a = data.load_insuranceqa("test")
    b = data.load_insuranceqa("test")
    assert list(a.queries) == list(b.queries) and list(a.corpus) == list(b.corpus)
    assert len(a.queries) == SMALL_MAX_QUERIES["test"]
    assert len(a.corpus) == SMALL_CORPUS_SIZE["test"]
    # every positive is in the corpus, and text is cleaned of InsuranceQA's doubled spaces
    assert all(d in a.corpus for docs in a.qrels.values() for d in docs)
    assert not any("  " in q for q in a.queries.values())


def test_insuranceqa_chinese_is_flagged_as_machine_translated():
    zh = data.load_insuranceqa("valid", lang="zh")
    assert zh.meta["lang"] == "zh" and "machine translation" in zh.meta["note"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in next(iter(zh.queries.values())))


@pytest.mark.parametrize("kwargs", [{"split": "dev"}, {"lang": "fr"}, {"profile": "huge"}])
def test_insuranceqa_rejects_bad_arguments(kwargs):
    with pytest.raises(DataError):
        data.load_insuranceqa(**kwargs)


def test_beir_round_trip(tmp_path):
    ds = tiny()
    data.save_beir(ds, tmp_path / "b")
    back = data.load_beir(tmp_path / "b")
    assert back.corpus == ds.corpus and back.queries == ds.queries and back.qrels == ds.qrels


def test_take_is_a_deterministic_subset():
    ds = data.load_insuranceqa("valid")
    a, b = ds.take(20), ds.take(20)
    assert list(a.queries) == list(b.queries) and len(a.queries) == 20
    assert set(a.qrels) <= set(ds.qrels)


def write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def beir(tmp_path, corpus=None, queries=None, qrels=None):
    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    write(root / "corpus.jsonl", corpus if corpus is not None else ['{"_id": "d1", "text": "a"}', '{"_id": "d2", "text": "b"}'])
    write(root / "queries.jsonl", queries if queries is not None else ['{"_id": "q1", "text": "a?"}'])
    write(root / "qrels" / "test.tsv", qrels if qrels is not None else ["query-id\tcorpus-id\tscore", "q1\td1\t1"])
    return root


# Each bad input of the issue: (files, a fragment the one-line message must contain).
BAD = {
    "missing_file": (dict(), "file not found"),
    "malformed_json": (dict(corpus=['{"_id": "d1", "text": "a"}', '{"_id": "d2", "text": ']), "corpus.jsonl:2: malformed JSON"),
    "unknown_query": (dict(qrels=["q9\td1\t1"]), "query id 'q9'"),
    "unknown_doc": (dict(qrels=["q1\td9\t1"]), "document id 'd9'"),
    "empty_corpus": (dict(corpus=[""]), "corpus is empty"),
    "duplicate_id": (dict(corpus=['{"_id": "d1", "text": "a"}', '{"_id": "d1", "text": "b"}']), "duplicate document id 'd1'"),
    "null_text": (dict(corpus=['{"_id": "d1", "text": null}']), "corpus.jsonl:1: 'text' and 'title' must be strings"),
    "not_an_object": (dict(queries=['["q1", "a?"]']), "queries.jsonl:1: each line needs an object"),
    "bad_score": (dict(qrels=["q1\td1\thigh"]), "test.tsv:1: score 'high' is not an integer"),
    "non_utf8": (dict(), "corpus.jsonl: not UTF-8 text"),
}


def bad_folder(tmp_path, case):
    """A BEIR folder with the fault ``case`` of :data:`BAD`."""
    root = beir(tmp_path, **BAD[case][0])
    if case == "missing_file":
        (root / "queries.jsonl").unlink()
    if case == "non_utf8":
        (root / "corpus.jsonl").write_bytes(b'{"_id": "d1", "text": "caf\xe9"}\n')
    return root


@pytest.mark.parametrize("case", list(BAD))
def test_bad_beir_input_gives_one_line_error(tmp_path, case):
    fragment = BAD[case][1]
    root = bad_folder(tmp_path, case)
    with pytest.raises(DataError) as e:
        data.load_beir(root)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_empty_texts_are_skipped_with_one_counting_warning(tmp_path, capsys):
    corpus = ['{"_id": "d1", "text": "a"}', '{"_id": "d2", "text": "  "}', '{"_id": "d3", "text": ""}']
    root = beir(tmp_path, corpus=corpus, qrels=["q1\td1\t1", "q1\td2\t1"])
    ds = data.load_beir(root)
    assert set(ds.corpus) == {"d1"} and ds.qrels == {"q1": {"d1": 1}}
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped 2 documents and 0 queries with empty text" in err[0]
    assert "corpus lines 2, 3" in err[0] and "1 judgements naming them" in err[0]


def test_language_of_a_beir_folder_is_detected_or_given(tmp_path):
    zh = beir(tmp_path, corpus=['{"_id": "d1", "text": "保险公司会赔偿车祸的损失吗"}', '{"_id": "d2", "text": "人寿保险"}'])
    assert data.lang_of(data.load_beir(zh)) == "zh"
    assert data.lang_of(data.load_beir(zh, lang="en")) == "en"
    (tmp_path / "en").mkdir()
    assert data.lang_of(data.load_beir(beir(tmp_path / "en"))) == "en"


def test_unknown_dataset_spec():
    with pytest.raises(DataError, match="no such dataset"):
        data.load("not-a-dataset-or-folder")


def test_dataset_rejects_inconsistent_qrels():
    with pytest.raises(DataError, match="not among the queries"):
        data.Dataset({"d": "x"}, {"q": "y"}, {"other": {"d": 1}})
