"""The workshop's front end and tools install and start."""

import subprocess
import sys
from pathlib import Path


def test_jupyter_lab_runs():
    jupyter = Path(sys.executable).with_name("jupyter")
    r = subprocess.run([str(jupyter), "lab", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip().split(".")[0] == "4", r.stderr[-500:]
