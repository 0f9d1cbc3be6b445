"""Property tests for every reader of a user's files: whatever the bytes, a result or a RagcookError.

Random bytes, valid files cut at any byte, and valid rows with a field swapped for a JSON value
of another type go through the BEIR folder loader, the samples reader, the generation-file
reader, the JSONL reader in both modes, the qrels reader and the corpus reader. Only a
:class:`~ragcook.errors.RagcookError` with a one-line message may come out, never another
exception; where a result comes back, its types are checked. Resumable reading gets a stronger
property: a file cut anywhere reads as exactly the rows whose line was complete, and appending
after the cut fuses nothing.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ragcook.data import Dataset, load_beir
from ragcook.data.beir import read_qrels
from ragcook.errors import DataError, RagcookError
from ragcook.io import append_jsonl, read_jsonl
from ragcook.text.chunk import read_corpus
from ragcook.train.generate import read_generated
from ragcook.train.samples import Sample, read_samples

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- strategies

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**9), 10**9) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
words = st.text(st.characters(exclude_categories=["Cs"]), min_size=0, max_size=20)  # any Unicode, é and 中 included


def lines(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


#: Bytes a reader may meet: noise, text, JSON lines of any shape.
any_bytes = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(json_values, max_size=5).map(lines),
)


def mutated(row: dict):
    """``row`` with one field replaced by a JSON value of any type, or deleted."""
    return st.tuples(st.sampled_from(sorted(row)), json_values, st.booleans()).map(
        lambda t: {k: v for k, v in row.items() if not (t[2] and k == t[0])} | ({} if t[2] else {t[0]: t[1]})
    )


def cut(data: bytes):
    """``data`` cut at any byte."""
    return st.integers(0, len(data)).map(lambda k: data[:k])


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("robust")


def only_ragcook_errors(fn, *args):
    """``fn(*args)``, or None if it raised a RagcookError with a one-line message; anything else fails the test."""
    try:
        return fn(*args)
    except RagcookError as e:
        assert str(e) and "\n" not in str(e), repr(str(e))
        return None


# --------------------------------------------------------------------------- JSON Lines, both modes


@FAST
@given(data=any_bytes, resumable=st.booleans())
def test_jsonl_reader_gives_rows_or_a_data_error(work, data, resumable):
    path = work / "any.jsonl"
    path.write_bytes(data)
    rows = only_ragcook_errors(read_jsonl, path, resumable)
    assert rows is None or all(isinstance(r, dict) for r in rows)


@FAST
@given(
    rows=st.lists(st.dictionaries(words, words | st.integers(-(10**9), 10**9), min_size=1, max_size=3), min_size=1, max_size=5),
    data=st.data(),
)
def test_a_file_cut_anywhere_resumes_with_every_complete_row(work, rows, data):
    full = lines(rows)
    k = data.draw(st.integers(0, len(full)), label="cut")
    path = work / "cut.jsonl"
    path.write_bytes(full[:k])
    complete = full[:k].count(b"\n")
    whole_but_newline = k < len(full) and full[k : k + 1] == b"\n"  # only the newline is missing: the row is whole
    assert read_jsonl(path, resumable=True) == rows[: complete + whole_but_newline]
    if full[:k].endswith(b"\n") or k == 0 or whole_but_newline:
        assert read_jsonl(path) == rows[: complete + whole_but_newline]  # strict reading of a clean cut
    else:
        with pytest.raises(DataError, match="cut.jsonl"):
            read_jsonl(path)  # strict: a torn line is damage
    append_jsonl(path, [{"new": "row"}])  # resuming: a torn tail is cut (a whole one kept), nothing fuses
    assert read_jsonl(path) == rows[: complete + whole_but_newline] + [{"new": "row"}]


@FAST
@given(
    rows=st.lists(st.fixed_dictionaries({"id": words}), min_size=2, max_size=5),
    garbage=st.text(min_size=1, max_size=30).filter(lambda s: "\n" not in s and s.strip() and not _parses(s)),
    data=st.data(),
)
def test_a_malformed_line_in_the_middle_is_an_error_in_both_modes(work, rows, garbage, data):
    at = data.draw(st.integers(1, len(rows) - 1), label="line")
    body = [line + "\n" for line in lines(rows).decode().split("\n")[:-1]]  # not splitlines: rows may hold \x85
    body.insert(at, garbage + "\n")
    path = work / "middle.jsonl"
    path.write_text("".join(body), encoding="utf-8")
    for resumable in (False, True):
        with pytest.raises(DataError, match=rf"middle.jsonl:{at + 1}: malformed JSON"):
            read_jsonl(path, resumable)


def _parses(s: str) -> bool:
    try:
        json.loads(s)
        return True
    except (ValueError, RecursionError):
        return False


# --------------------------------------------------------------------------- generation files

GEN_ROW = {
    "chunk_id": "d#0-9", "doc_id": "d", "start": 0, "end": 9, "chunk": "Some text", "questions": ["What?"],
    "best": "What?", "positive": "Some text", "attempts": 1, "error": "boom",
}  # fmt: skip


@FAST
@given(data=st.one_of(any_bytes, st.lists(mutated(GEN_ROW), min_size=1, max_size=3).map(lines)))
def test_generation_reader_gives_rows_or_a_data_error(work, data):
    path = work / "gen.jsonl"
    path.write_bytes(data)
    rows = only_ragcook_errors(read_generated, path)
    for r in rows or []:
        assert isinstance(r.get("chunk_id", r.get("qid")), str)
        if "chunk_id" in r:
            assert isinstance(r["chunk"], str) and all(isinstance(q, str) for q in r["questions"])
            assert isinstance(r.get("attempts", 1), int)


@FAST
@given(data=st.data())
def test_generation_file_cut_anywhere_keeps_the_complete_rows(work, data):
    rows = [dict(GEN_ROW, chunk_id=f"d#{i}", chunk=f"texte é {i} 中文") for i in range(4)]
    path = work / "gen_cut.jsonl"
    path.write_bytes(data.draw(cut(lines(rows))))
    got = read_generated(path)
    assert got == rows[: len(got)] and len(got) >= path.read_bytes().count(b"\n")


# --------------------------------------------------------------------------- samples

SAMPLE = {"query": "how do I claim", "pos": ["call the agent"], "neg": ["premiums are monthly"]}


@FAST
@given(data=st.one_of(any_bytes, cut(lines([SAMPLE] * 3)), st.lists(mutated(SAMPLE), min_size=1, max_size=3).map(lines)))
def test_samples_reader_gives_samples_or_a_data_error(work, data):
    path = work / "samples.jsonl"
    path.write_bytes(data)
    samples = only_ragcook_errors(read_samples, path)
    for s in samples or []:
        assert isinstance(s, Sample) and s.query.strip() and s.pos
        assert all(isinstance(t, str) and t.strip() for t in s.pos + s.neg)


# --------------------------------------------------------------------------- qrels and BEIR folders

QRELS = b"query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\n"
tsv_bytes = st.one_of(
    st.binary(max_size=120),
    cut(QRELS),
    st.lists(st.lists(st.text(max_size=6), max_size=4).map("\t".join), max_size=4).map(lambda r: "\n".join(r).encode()),
)


@FAST
@given(data=tsv_bytes)
def test_qrels_reader_gives_judgements_or_a_data_error(work, data):
    path = work / "qrels.tsv"
    path.write_bytes(data)
    qrels = only_ragcook_errors(read_qrels, path)
    for qid, docs in (qrels or {}).items():
        assert isinstance(qid, str) and all(isinstance(d, str) and isinstance(g, int) for d, g in docs.items())


CORPUS = [{"_id": "d1", "title": "", "text": "cats sit on mats"}, {"_id": "d2", "text": "dogs bark"}]
QUERIES = [{"_id": "q1", "text": "where do cats sit"}, {"_id": "q2", "text": "what do dogs do"}]


def beir_folder(root, corpus=None, queries=None, qrels=None, meta=None):
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_bytes(lines(CORPUS) if corpus is None else corpus)
    (root / "queries.jsonl").write_bytes(lines(QUERIES) if queries is None else queries)
    (root / "qrels" / "test.tsv").write_bytes(QRELS if qrels is None else qrels)
    (root / "ragcook.json").unlink(missing_ok=True)
    if meta is not None:
        (root / "ragcook.json").write_bytes(meta)
    return root


beir_faults = st.one_of(
    any_bytes.map(lambda b: {"corpus": b}),
    any_bytes.map(lambda b: {"queries": b}),
    tsv_bytes.map(lambda b: {"qrels": b}),
    any_bytes.map(lambda b: {"meta": b}),
    cut(lines(CORPUS)).map(lambda b: {"corpus": b}),
    st.lists(mutated(CORPUS[0]), min_size=1, max_size=2).map(lambda r: {"corpus": lines(r + CORPUS[1:])}),
    st.lists(mutated(QUERIES[0]), min_size=1, max_size=2).map(lambda r: {"queries": lines(r + QUERIES[1:])}),
)


@FAST
@given(fault=beir_faults)
def test_beir_loader_gives_a_dataset_or_a_data_error(work, fault):
    root = beir_folder(work / "beir", **fault)
    ds = only_ragcook_errors(load_beir, root)
    assert ds is None or (isinstance(ds, Dataset) and ds.corpus and ds.queries)
    if ds is not None:
        assert all(isinstance(t, str) and t.strip() for t in [*ds.corpus.values(), *ds.queries.values()])


def test_the_unchanged_beir_folder_loads(work):
    ds = load_beir(beir_folder(work / "beir_ok"))
    assert set(ds.corpus) == {"d1", "d2"} and ds.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2}}


# --------------------------------------------------------------------------- corpora for `samples build` and `recipe`


@FAST
@given(data=any_bytes, suffix=st.sampled_from([".jsonl", ".txt", "/folder"]))
def test_corpus_reader_gives_documents_or_a_data_error(work, data, suffix):
    if suffix == "/folder":
        path = work / "docs_folder"
        path.mkdir(exist_ok=True)
        (path / "a.md").write_bytes(data)
    else:
        path = work / f"docs{suffix}"
        path.write_bytes(data)
    corpus = only_ragcook_errors(read_corpus, path)
    assert corpus is None or (corpus and all(isinstance(t, str) and t.strip() for t in corpus.values()))


def test_a_utf8_file_with_a_byte_order_mark_reads(work):
    path = work / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + lines(QUERIES))
    assert read_jsonl(path) == QUERIES
