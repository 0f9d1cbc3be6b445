"""``make test``'s file order for its two workers (the root ``conftest.py``): builders first, notebook 17
after every other notebook, the unit tests last, and xdist told to keep that order."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _root_conftest():
    spec = importlib.util.spec_from_file_location("ragcook_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_notebook_has_one_place_in_the_order():
    order = _root_conftest().XDIST_ORDER
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert sum(nb.name.startswith(p) for p in order) == 1, f"{nb.name}: give it one place in conftest.XDIST_ORDER"


def test_builders_first_notebook_17_after_the_notebooks_unit_tests_last():
    rank = _root_conftest()._rank
    ids = ["tests/test_topk.py::test_a", "notebooks/17_evaluation.ipynb::Cell 0", "notebooks/00_setup_and_tour.ipynb::Cell 0",
           "notebooks/13_reranking.ipynb::Cell 1", "tests/test_offline.py::test_b", "notebooks/08_finetune.ipynb::Cell 3",
           "notebooks/99_new.ipynb::Cell 0", "notebooks/13_reranking.ipynb::Cell 0"]  # fmt: skip
    ordered = sorted(ids, key=rank)
    files = [i.split("::")[0].split("/")[1][:3] for i in ordered]
    assert files == ["08_", "13_", "13_", "00_", "99_", "17_", "tes", "tes"]
    assert ordered[1].endswith("Cell 1")  # sorted() is stable: cells keep their order within a notebook
    assert ordered[-2].startswith("tests/test_offline.py")  # the long unit-test file starts first


def test_make_test_keeps_the_order():
    assert "--no-loadscope-reorder" in (ROOT / "Makefile").read_text()  # else xdist hands out the biggest files first
