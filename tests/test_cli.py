import json
import subprocess
import sys

import pytest

from ragcook import cli, data
from tests.test_data import BAD, bad_folder


def test_help_on_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    top = capsys.readouterr().out
    names = cli.SUBCOMMANDS
    assert all(name in top for name in names)
    for name in names:
        with pytest.raises(SystemExit) as e:
            cli.main([name, "--help"])
        assert e.value.code == 0
        assert "usage: ragcook" in capsys.readouterr().out


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_non_zero_with_one_line_message(tmp_path, case, capsys):
    fragment = BAD[case][1]
    root = bad_folder(tmp_path, case)
    code = cli.main(["eval", "--data", str(root), "--retriever", "bm25", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("ragcook: error:") and fragment in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_unknown_retriever_is_rejected_by_argparse(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["eval", "--retriever", "tfidf"])
    assert e.value.code == 2


def test_entry_point_process_exit_code(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "ragcook", "eval", "--data", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "ragcook: error:" in r.stderr and "Traceback" not in r.stderr


def test_beir_folder_gives_the_same_metrics_as_insuranceqa(tmp_path, capsys):
    """`ragcook eval --data PATH` on a folder ragcook wrote == `--data insuranceqa`."""
    ds = data.load_insuranceqa("test")
    data.save_beir(ds, tmp_path / "iqa")
    args = ["eval", "--retriever", "bm25", "dense", "hybrid"]
    assert cli.main([*args, "--data", "insuranceqa", "--out", str(tmp_path / "a")]) == 0
    assert cli.main([*args, "--data", str(tmp_path / "iqa"), "--out", str(tmp_path / "b")]) == 0
    a = json.loads((tmp_path / "a" / "results.json").read_text())["results"]
    b = json.loads((tmp_path / "b" / "results.json").read_text())["results"]
    assert set(a) == {"bm25", "dense", "hybrid"}
    for name in a:
        assert a[name] == pytest.approx(b[name], abs=1e-9)
    assert (tmp_path / "a" / "results.png").stat().st_size > 1000
    assert (tmp_path / "a" / "results.csv").read_text().startswith("retriever,")
    assert "nDCG@10" in capsys.readouterr().out
