"""Root pytest hook: after a run that executed notebooks, print each notebook's total seconds.

nbval reports one test per cell; WORKSHOP.md's run-time table wants one figure per notebook,
so the cells' setup, call and teardown times are summed here (cold in CI, warm on a second run).
"""

from collections import defaultdict


def pytest_terminal_summary(terminalreporter):
    seconds: dict[str, float] = defaultdict(float)
    for reports in terminalreporter.stats.values():
        for r in reports:
            nodeid = getattr(r, "nodeid", "")
            if nodeid.startswith("notebooks/") and hasattr(r, "duration"):
                seconds[nodeid.split("::")[0]] += r.duration
    if not seconds:
        return
    terminalreporter.section("seconds per notebook")
    for path, s in sorted(seconds.items()):
        terminalreporter.write_line(f"{s:8.1f}  {path}")
    terminalreporter.write_line(f"{sum(seconds.values()):8.1f}  all notebooks")
