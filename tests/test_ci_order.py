"""``make test``'s order for its two workers: the notebooks in the course's order, then the unit tests,
and xdist told to keep that order (by default it hands out the files with the most tests first)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_test_runs_the_notebooks_before_the_unit_tests_in_that_order():
    make = (ROOT / "Makefile").read_text()
    recipe = make[make.index("\ntest:") :].split("\n\n")[0]
    assert re.search(r"pytest notebooks tests\b", recipe), recipe  # notebook 08 trains what 13, 14, 17 need
    xdist = next(line for line in make.splitlines() if line.startswith("XDIST ="))
    assert "--dist loadfile" in xdist and "--no-loadscope-reorder" in xdist


def test_the_course_order_puts_each_models_builder_before_its_readers():
    names = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    first = {n[:2]: i for i, n in enumerate(names)}
    assert first["08"] < first["13"] < first["17"] and first["14"] < first["17"] and first["15"] < first["17"]
