"""Every row of docs/bad-input.md ("What bad input gets"): the command, and the one line it ends in.

Each case runs the real command line in process (``ragcook.cli.main``): a bad input ends in exit
code 2 and one line ``ragcook: error: ...`` naming the file (and line) where there is one; a
documented skip ends in exit code 0 and one ``ragcook: warning: ...`` line that counts what was
skipped. No traceback either way. The BEIR folder's own faults are in tests/test_cli.py (BAD).
"""

import errno
import json

import pytest

from ragcook import cli
from tests.test_data import beir

GOOD_SAMPLES = "".join(f'{{"query": "question {i}", "pos": ["passage {i} about cats"]}}\n' for i in range(4))
QUESTIONS_ROW = {"chunk_id": "a.txt#0-5", "doc_id": "a.txt", "start": 0, "end": 5, "chunk": "Hello", "questions": ["Hi?"]}


def files(tmp_path) -> dict:
    """The inputs the cases point at, made fresh in ``tmp_path``."""
    t = tmp_path
    good = beir(t, corpus=['{"_id": "d1", "text": "cats sit on mats"}', '{"_id": "d2", "text": "dogs bark loudly"}'])
    beir(t / "stop")  # texts "a" and "b": nothing left once stop words and one-letter tokens go
    beir(t / "id_list", corpus=['{"_id": ["d1"], "text": "cats"}'])
    beir(t / "cut", corpus=['{"_id": "d1", "text": "cats"}', '{"_id": "d2", "te'])
    beir(t / "two_columns", qrels=["q1\td1"])
    beir(t / "no_judgements", qrels=["query-id\tcorpus-id\tscore"])
    (beir(t / "qrels_latin1") / "qrels" / "test.tsv").write_bytes(b"q1\td\xe91\t1\n")
    (beir(t / "qrels_huge") / "qrels" / "test.tsv").write_text("q1\td1\t" + "1" * 200_000 + "\n")
    (beir(t / "meta_list") / "ragcook.json").write_text('["en"]')
    (beir(t / "meta_bad") / "ragcook.json").write_text("{lang: en}")
    (t / "a_file.txt").write_text("not a folder")
    (t / "not_a_model").mkdir()
    (t / "not_a_model" / "config.json").write_text("{")
    (t / "no_weights").mkdir()
    (t / "no_weights" / "config.json").write_text('{"model_type": "bert"}')
    (t / "samples.jsonl").write_text(GOOD_SAMPLES)
    (t / "empty.jsonl").write_text("")
    (t / "binary.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    (t / "pos_int.jsonl").write_text('{"query": "q", "pos": [1]}\n')
    (t / "query_null.jsonl").write_text('{"query": null, "pos": ["p"]}\n')
    (t / "all_blank.jsonl").write_text('{"query": " ", "pos": ["p"]}\n{"query": "q", "pos": [""]}\n')
    (t / "docs").mkdir()
    (t / "docs" / "a.txt").write_text("The try statement runs its clause. Then the except clause may run.")
    (t / "docs" / "b.txt").write_text("   \n")
    (t / "ok_docs").mkdir()
    (t / "ok_docs" / "a.txt").write_text("The try statement runs its clause. Then the except clause may run.")
    (t / "blank_docs").mkdir()
    (t / "blank_docs" / "a.txt").write_text("")
    (t / "pictures").mkdir()
    (t / "pictures" / "a.png").write_bytes(b"\x89PNG")
    (t / "latin1.txt").write_bytes(b"caf\xe9 au lait")
    (t / "short.txt").write_text("Too short. Really.")
    row = json.dumps(QUESTIONS_ROW)
    (t / "raw_middle.jsonl").write_text(row + "\n{broken\n" + row + "\n")
    (t / "raw_no_id.jsonl").write_text('{"questions": ["Hi?"]}\n')
    (t / "raw_types.jsonl").write_text(json.dumps(dict(QUESTIONS_ROW, questions="Hi?")) + "\n")
    (t / "raw_torn.jsonl").write_text(row + "\n" + row[:20])
    (t / "rewrites.jsonl").write_text('{"qid": "q1"}\n')
    return {"good": good, "t": t}


def _c(name, argv, code, fragment, env=None):
    return pytest.param(argv.split(), code, fragment, env, id=name)


E = "eval --retriever bm25 --data {good}"
F = "finetune --out {t}/m --samples"
B = "samples build --generator ict --out {t}/out.jsonl"
M = "samples mine-negatives --samples {t}/samples.jsonl"
DEAD = {"RAGCOOK_LLM_BASE_URL": "http://127.0.0.1:9"}  # the discard port: nothing listens

#: (case, command line with {good}/{t} placeholders, exit code, a fragment of the error or warning line, environment)
CASES = [
    # arguments
    _c("k-zero", f"{E} --k 0", 2, "argument --k: must be at least 1, got 0"),
    _c("k-not-a-number", f"{E} --k ten", 2, "argument --k: 'ten' is not an integer"),
    _c("weight-above-1", f"{E} --retriever hybrid --hybrid-weight 1.5", 2, "must be between 0 and 1, got 1.5"),
    _c("weight-nan", f"{E} --hybrid-weight nan", 2, "must be between 0 and 1, got nan"),
    _c("out-is-a-file", f"{E} --out {{t}}/a_file.txt", 2, "a_file.txt exists and is a file, not a folder"),
    _c("out-under-a-file", f"{E} --out {{t}}/a_file.txt/results", 2, "a_file.txt is a file, not a folder"),
    _c("steps-zero", f"{F} {{t}}/samples.jsonl --max-steps 0", 2, "argument --max-steps: must be at least 1"),
    _c("batch-size-zero", f"{F} {{t}}/samples.jsonl --batch-size 0", 2, "argument --batch-size: must be at least 1"),
    _c("lr-negative", f"{F} {{t}}/samples.jsonl --lr -1", 2, "argument --lr: must be greater than 0"),
    _c("temperature-zero", f"{F} {{t}}/samples.jsonl --temperature 0", 2, "must be greater than 0, got 0.0"),
    _c("overlap-not-below-size", f"{B} --corpus {{t}}/docs --chunk-size 8 --overlap 8", 2, "overlap must be in [0, size)"),
    _c("lo-not-below-hi", f"{M} --out {{t}}/n.jsonl --lo 5 --hi 5", 2, "--lo 5 must be below --hi 5"),
    _c("unknown-retriever", f"{E} --retriever tfidf", 2, "invalid choice: 'tfidf'"),
    _c("corpus-and-data", f"{B} --corpus {{t}}/docs --data insuranceqa", 2, "give --corpus PATH or --data insuranceqa"),
    _c("samples-out-a-folder", "samples build --generator ict --corpus {t}/docs --out {t}/docs", 2, "docs is a folder"),
    _c("raw-a-folder", f"{B} --corpus {{t}}/docs --raw {{t}}/docs", 2, "argument --raw: "),
    _c("mine-out-a-folder", f"{M} --out {{t}}/docs", 2, "argument --out: "),
    # datasets
    _c("data-missing", "eval --data {t}/nowhere", 2, "nowhere: no such dataset"),
    _c("data-is-a-file", "eval --data {t}/a_file.txt", 2, "a_file.txt: not a folder"),
    _c("split-missing", f"{E} --split dev", 2, "qrels/dev.tsv: file not found"),
    _c("id-not-a-string", "eval --data {t}/id_list/beir", 2, "corpus.jsonl:1: '_id' must be a string or an integer"),
    _c("corpus-cut-mid-line", "eval --data {t}/cut/beir", 2, "corpus.jsonl:2: malformed JSON line"),
    _c("qrels-two-columns", "eval --data {t}/two_columns/beir", 2, "test.tsv:1: expected 3 tab-separated columns, got 2"),
    _c("qrels-no-judgements", "eval --data {t}/no_judgements/beir", 2, "beir/test: there are no queries"),
    _c("qrels-not-utf8", "eval --data {t}/qrels_latin1/beir", 2, "test.tsv: not UTF-8 text (byte 4"),
    _c("qrels-field-too-large", "eval --data {t}/qrels_huge/beir", 2, "test.tsv: not a tab-separated file (field larger"),
    _c("meta-not-an-object", "eval --data {t}/meta_list/beir", 2, 'ragcook.json: expected a JSON object like {"lang": "en"}'),
    _c("meta-not-json", "eval --data {t}/meta_bad/beir", 2, "ragcook.json: not a JSON object (Expecting property name"),
    _c("corpus-only-stop-words", f"{E} --data {{t}}/stop/beir", 2, "BM25: none of the 2 documents has a word left"),
    # models
    _c("model-missing", f"{E} --retriever dense --model {{t}}/nowhere", 2, "no such model folder"),
    _c("model-bad-config", f"{E} --retriever dense --model {{t}}/not_a_model", 2, "not_a_model: config.json is not valid JSON"),
    _c("model-no-weights", f"{E} --retriever dense --model {{t}}/no_weights", 2, "no file named model.safetensors"),
    # samples files
    _c("samples-missing", f"{F} {{t}}/nowhere.jsonl", 2, "nowhere.jsonl: file not found"),
    _c("samples-a-folder", f"{F} {{t}}/docs", 2, "docs: a folder, not a JSON Lines file"),
    _c("samples-empty", f"{F} {{t}}/empty.jsonl", 2, "empty.jsonl: no samples"),
    _c("samples-binary", f"{F} {{t}}/binary.jsonl", 2, "binary.jsonl: not UTF-8 text"),
    _c("samples-pos-not-strings", f"{F} {{t}}/pos_int.jsonl", 2, "pos_int.jsonl:1: 'pos' must be"),
    _c("samples-query-null", f"{F} {{t}}/query_null.jsonl", 2, "query_null.jsonl:1: needs a 'query'"),
    _c("samples-all-blank", f"{F} {{t}}/all_blank.jsonl", 2, "all_blank.jsonl: no samples"),
    _c("samples-too-few-negatives", f"{F} {{t}}/samples.jsonl --negatives 3", 2, "no sample has 3 negatives"),
    # corpora and generation files
    _c("corpus-missing", f"{B} --corpus {{t}}/nowhere", 2, "nowhere: no such file or folder"),
    _c("corpus-no-text-files", f"{B} --corpus {{t}}/pictures", 2, "no .txt/.md/.rst/.markdown files"),
    _c("corpus-not-utf8", f"{B} --corpus {{t}}/latin1.txt", 2, "latin1.txt: not UTF-8 text (byte 3"),
    _c("corpus-all-blank", f"{B} --corpus {{t}}/blank_docs", 2, "blank_docs: no documents with text"),
    _c("raw-malformed-middle", f"{B} --corpus {{t}}/docs --raw {{t}}/raw_middle.jsonl", 2, "raw_middle.jsonl:2: malformed JSON"),
    _c("raw-row-without-id", f"{B} --corpus {{t}}/docs --raw {{t}}/raw_no_id.jsonl", 2, "raw_no_id.jsonl:1: a generation row"),
    _c(
        "raw-wrong-type", f"{B} --corpus {{t}}/docs --raw {{t}}/raw_types.jsonl", 2, "raw_types.jsonl:1: 'questions' must be list"
    ),
    _c("no-question-survives", f"{B} --corpus {{t}}/short.txt", 2, "no question survived for 1 chunks (0 failed)"),
    _c("every-chunk-fails", "samples build --generator openai --corpus {t}/short.txt --out {t}/o.jsonl", 2, "(1 failed)", DEAD),
    # rewrite and recipe
    _c(
        "rewrite-cache-row-incomplete",
        "rewrite --generator openai --data {good} --out {t}/rewrites.jsonl",
        2,
        "rewrites.jsonl:1: the row has no 'keywords'",
        DEAD,
    ),  # fmt: skip
    _c("rewrite-endpoint-down", "rewrite --generator openai --data {good} --out {t}/new.jsonl", 2, "failed after 4 tries", DEAD),
    _c("recipe-too-few-questions", "recipe --generator ict --corpus {t}/stop/beir --out {t}/r", 2, "only 0 questions survived"),
    # documented skips and resumes: exit 0, one warning that counts (or none)
    _c("skip-blank-documents", f"{B} --corpus {{t}}/docs", 0, "skipped 1 empty documents (b.txt)"),
    _c(
        "skip-blank-samples",
        "samples mine-negatives --samples {t}/mixed.jsonl --out {t}/n.jsonl --negatives 1 --lo 1 --hi 3",
        0,
        "skipped 1 samples with an empty query or positive (lines 5)",
    ),  # fmt: skip
    _c("skip-negatives-pool-too-small", f"{M} --out {{t}}/n.jsonl", 0, "4 of 4 samples got fewer than 7 negatives"),
    _c("resume-after-torn-last-line", f"{B} --corpus {{t}}/ok_docs --raw {{t}}/raw_torn.jsonl", 0, ""),
]


@pytest.mark.parametrize("argv, code, fragment, env", CASES)
def test_bad_input_gets_one_line(tmp_path, capsys, monkeypatch, argv, code, fragment, env):
    paths = files(tmp_path)
    (tmp_path / "mixed.jsonl").write_text(GOOD_SAMPLES + '{"query": "", "pos": ["p"]}\n')
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    argv = [a.format(**paths) for a in argv]  # paths under tmp_path: no spaces
    try:
        got = cli.main(argv)
    except SystemExit as e:  # argparse
        got = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("ragcook: ")]
    errors = [line for line in lines if line.startswith("ragcook: error: ")]
    assert got == code, err
    if code == 2:  # one error line, the last thing said (a warning may come before it)
        assert len(errors) == 1 and lines[-1] == errors[0] and fragment in errors[0], err
    else:
        warnings = [line for line in lines if line.startswith("ragcook: warning: ")]
        assert not errors and len(warnings) == (1 if fragment else 0) and all(fragment in w for w in warnings), err


def test_a_full_disk_is_one_line_too(tmp_path, capsys, monkeypatch):
    from ragcook import report

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o" / "results.json"))

    monkeypatch.setattr(report, "write_results", full)
    assert cli.main(["eval", "--retriever", "bm25", "--data", str(files(tmp_path)["good"]), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"ragcook: error: {tmp_path / 'o' / 'results.json'}: No space left on device"


def test_ctrl_c_is_one_line_and_130(tmp_path, capsys, monkeypatch):
    from ragcook import pipeline

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "evaluate_retrievers", interrupted)
    assert cli.main(["eval", "--retriever", "bm25", "--data", str(files(tmp_path)["good"]), "--out", str(tmp_path / "o")]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "ragcook: interrupted"
