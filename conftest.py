"""Root pytest hook: after a run that executed notebooks, print each notebook's seconds, worker and span.

nbval reports one test per cell; WORKSHOP.md's run-time table wants one figure per notebook, so
the cells' setup, call and teardown times are summed here (cold in CI, warm on a second run). Under
``make test``'s two pytest-xdist workers each line also says which worker ran the notebook and
between which minutes of the run, which shows where a worker waited for a model the other one
was training.
"""

from collections import defaultdict


def pytest_terminal_summary(terminalreporter):
    seconds: dict[str, float] = defaultdict(float)
    span: dict[str, list] = {}
    for reports in terminalreporter.stats.values():
        for r in reports:
            nodeid = getattr(r, "nodeid", "")
            if nodeid.startswith("notebooks/") and hasattr(r, "duration") and hasattr(r, "start"):
                path = nodeid.split("::")[0]
                seconds[path] += r.duration
                worker = getattr(getattr(getattr(r, "node", None), "gateway", None), "id", "")
                s = span.setdefault(path, [worker, r.start, r.stop])
                s[1], s[2] = min(s[1], r.start), max(s[2], r.stop)
    if not seconds:
        return
    t0 = min(s[1] for s in span.values())
    terminalreporter.section("seconds per notebook")
    terminalreporter.write_line("seconds  worker  start-end (min)  notebook")
    for path, s in sorted(seconds.items()):
        worker, start, stop = span[path]
        when = f"{(start - t0) / 60:5.1f}-{(stop - t0) / 60:5.1f}"
        terminalreporter.write_line(f"{s:7.1f}  {worker or '-':6s}  {when:15s}  {path}")
    terminalreporter.write_line(f"{sum(seconds.values()):7.1f}  all notebooks")
