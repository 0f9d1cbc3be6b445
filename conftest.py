"""Root pytest hook: after a run that executed notebooks, print each notebook's seconds, worker and span.

nbval reports one test per cell; WORKSHOP.md's run-time table wants one figure per notebook, so
the cells' setup, call and teardown times are summed here (cold in CI, warm on a second run). Under
``make test``'s two pytest-xdist workers each line also says which worker ran the notebook and
between which minutes of the run, which shows where a worker waited for a model the other one
was training.
"""


def pytest_terminal_summary(terminalreporter):
    # notebook -> [seconds, worker, first start, last stop], over its cells' setup, call and teardown reports
    notebooks: dict[str, list] = {}
    for reports in terminalreporter.stats.values():
        for r in reports:
            nodeid = getattr(r, "nodeid", "")
            if nodeid.startswith("notebooks/") and hasattr(r, "duration") and hasattr(r, "start"):
                worker = getattr(getattr(getattr(r, "node", None), "gateway", None), "id", "")
                nb = notebooks.setdefault(nodeid.split("::")[0], [0.0, worker, r.start, r.stop])
                nb[0] += r.duration
                nb[2], nb[3] = min(nb[2], r.start), max(nb[3], r.stop)
    if not notebooks:
        return
    t0 = min(nb[2] for nb in notebooks.values())
    terminalreporter.section("seconds per notebook")
    terminalreporter.write_line("seconds  worker  start-end (min)  notebook")
    for path, (seconds, worker, start, stop) in sorted(notebooks.items()):
        when = f"{(start - t0) / 60:5.1f}-{(stop - t0) / 60:5.1f}"
        terminalreporter.write_line(f"{seconds:7.1f}  {worker or '-':6s}  {when:15s}  {path}")
    terminalreporter.write_line(f"{sum(nb[0] for nb in notebooks.values()):7.1f}  all notebooks")
