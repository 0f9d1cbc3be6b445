"""Every exercise has a solution that its checker accepts, and every notebook's exercises exist."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from ragcook.exercises import CHECKS, check, exercises

ROOT = Path(__file__).resolve().parents[1]


def solution_module(number: str):
    path = next((ROOT / "solutions").glob(f"{number}_*.py"))
    spec = importlib.util.spec_from_file_location(f"solutions_{number}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("exercise", sorted(exercises()))
def test_solution_passes_its_checker(exercise, capsys):
    mod = solution_module(exercise.split(".")[0])
    assert check(exercise, getattr(mod, CHECKS[exercise][0])) is True
    assert "correct" in capsys.readouterr().out


def test_an_unsolved_exercise_is_skipped_and_a_wrong_one_fails(capsys):
    def todo(*a):
        raise NotImplementedError

    assert check("00.1", todo) is False and "skipped" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="1/3"):
        check("00.1", lambda run, qrels, k: 0.5)
    with pytest.raises(KeyError):
        check("99.9", todo)


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_notebook_checks_its_exercises(notebook):
    """Each notebook has two or three exercises and calls check() for exactly those."""
    code = "".join("".join(c["source"]) for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code")
    called = set(re.findall(r'check\("(\d\d\.\d+)"', code))
    mine = {e for e in exercises() if e.startswith(notebook.name[:2] + ".")}
    assert 2 <= len(mine) <= 3, f"{notebook.name}: {len(mine)} exercises in ragcook/exercises (want 2 or 3)"
    assert called == mine
