"""A socket guard, and the two ``ragcook run --quick`` runs that test_offline's tests share.

:func:`no_network` records (and refuses) every attempt to reach a host that is not this machine:
``connect``/``connect_ex`` on any Python socket, ``socket.create_connection`` and name lookups
(``getaddrinfo``) of anything but loopback names. Loopback and Unix sockets stay allowed: the
course's own servers (a test's fake LLM, Milvus Lite) live there. Sockets opened inside C
libraries that bypass Python's ``socket`` module (gRPC's core, for one) are not seen.

:func:`quick_runs` runs ``ragcook run --quick`` twice, once per test session (it is the expensive
part of the suite, so every test that reads its reports lives in ``test_offline.py``: ``make test``'s
workers each take whole files, and one file runs it once): first in this process under the guard,
then in a fresh process with another ``PYTHONHASHSEED`` under the same guard. See its docstring for what the second run re-derives.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_local(host) -> bool:
    """Whether ``host`` (a name or an address) is this machine."""
    if host is None:
        return True
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host.lower() in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def no_network():
    """Within the block, any connection or name lookup outside loopback raises and is recorded.

    Yields the list of attempts: it must be empty at the end (a library may swallow the error).
    """
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_create, real_getaddrinfo = socket.create_connection, socket.getaddrinfo

    def check(sock, address) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or is_local(address[0]):
            return  # Unix sockets, and loopback
        attempts.append(f"connect {address!r}")
        raise OSError(f"test guard: no network access outside loopback ({address!r})")

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    def create_connection(address, *args, **kwargs):
        if not is_local(address[0]):
            attempts.append(f"create_connection {address!r}")
            raise OSError(f"test guard: no network access outside loopback ({address!r})")
        return real_create(address, *args, **kwargs)

    def getaddrinfo(host, *args, **kwargs):
        if not is_local(host):
            attempts.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(f"test guard: no name lookups outside loopback ({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
    socket.create_connection, socket.getaddrinfo = create_connection, getaddrinfo
    try:
        yield attempts
    finally:
        socket.socket.connect, socket.socket.connect_ex = real_connect, real_connect_ex
        socket.create_connection, socket.getaddrinfo = real_create, real_getaddrinfo


#: The second run: the CLI in a fresh process, under the guard; exit code 3 if anything reached out.
GUARDED_CLI = """
import sys
from tests.offline import no_network
from ragcook.cli import main

with no_network() as attempts:
    code = main(sys.argv[1:])
if attempts:
    print("network attempts:", attempts, file=sys.stderr)
    sys.exit(3)
sys.exit(code)
"""


@lru_cache(maxsize=1)
def quick_runs(base: Path) -> tuple[Path, Path, list[str]]:
    """``ragcook run --quick`` twice, into ``base/first`` and ``base/second``; also the guard's record of run 1.

    The first run is this process's; whatever it computes goes to the cache. The second runs in a
    new process with another ``PYTHONHASHSEED`` (set and dict-of-set orders change) and reads the
    same cache: the **embeddings** (of the base and the fine-tuned model) and the **fine-tuned
    model** itself come from there. Everything else is computed again: loading and sampling the
    data, BM25 indexing and search, dense top-k from the vectors, the hybrid weight's tuning on
    the validation split, the fusion, every metric, the tables and plots.
    """
    from ragcook import cli

    first, second = base / "first", base / "second"
    t0 = time.perf_counter()
    with no_network() as attempts:
        code = cli.main(["run", "--quick", "--out", str(first)])
    assert code == 0, "ragcook run --quick failed (first run)"
    t1 = time.perf_counter()
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    r = subprocess.run(
        [sys.executable, "-c", GUARDED_CLI, "run", "--quick", "--out", str(second)],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, f"the second run failed ({r.returncode}): {r.stderr[-3000:]}"
    print(f"ragcook run --quick: first run {t1 - t0:.0f} s, second run {time.perf_counter() - t1:.0f} s")
    return first, second, list(attempts)
