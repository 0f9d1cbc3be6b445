"""Root pytest hooks: the order of ``make test``'s two workers, and each notebook's seconds.

**Order.** With pytest-xdist (``make test``), the files are handed to the workers in the order of
:data:`XDIST_ORDER`, then the unit tests. The notebooks
that train a model other notebooks need go first, each with a builder of its own (a notebook that
needs a model another worker is training waits for it, and its core idles); notebook 17, which
needs all of them, comes after every other notebook; the many short unit-test files fill the other
worker meanwhile. ``make test`` passes ``--no-loadscope-reorder`` so that xdist keeps this order
(by default it hands out the files with the most tests first). One process (``TEST_WORKERS=1``,
``make test-notebooks``) keeps the course's order.

**Seconds.** nbval reports one test per cell; WORKSHOP.md's run-time table wants one figure per
notebook, so the cells' setup, call and teardown times are summed here (cold in CI, warm on a
second run), with the worker and the minutes into the run at which the notebook started and ended.
"""

from collections import defaultdict

#: The order the two workers take the notebooks in. First those that train what others need:
#: 08 the course's fine-tuned model (13 and 14 need it), 15 the multi-vector model and the sparse
#: head (04 reuses it), 16 the Chinese e5, 13 the cross-encoder, 14 the Matryoshka model; then the
#: rest, longest first; last 17, which needs the models of 08, 13, 14 and 15. A notebook not listed
#: goes just before 17.
XDIST_ORDER = ("08_", "15_", "13_", "16_", "14_", "04_", "10_", "09_", "12_", "07_", "02_", "01_", "05_", "03_",
               "00_", "06_", "11_", "17_")  # fmt: skip
#: The longest unit-test files (each runs ``ragcook`` end to end) start first among the tests.
XDIST_TESTS_FIRST = ("tests/test_offline.py", "tests/test_cli.py")


def _rank(nodeid: str) -> tuple[int, float, str]:
    path = nodeid.split("::")[0]
    if not path.startswith("notebooks/"):
        return (1, XDIST_TESTS_FIRST.index(path) if path in XDIST_TESTS_FIRST else len(XDIST_TESTS_FIRST), path)
    name = path.removeprefix("notebooks/")
    ranks = [i for i, prefix in enumerate(XDIST_ORDER) if name.startswith(prefix)]
    return (0, ranks[0] if ranks else len(XDIST_ORDER) - 1.5, name)


def pytest_collection_modifyitems(config, items):
    if config.getoption("dist", "no") == "no":
        return
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: cells and tests keep their order in a file


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
