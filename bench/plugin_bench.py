"""The pytest plugin's session daemon: the wait the first `dind` test sees with the background start (the default)
vs `--dind-lazy` (the daemon started by the fixture, as before the background start: the full start).

Each run is `python3 -m pytest` in a fresh interpreter on a generated project whose collection takes a realistic
time: a conftest that imports docker-py, and MODULES test modules that each import a few stdlib modules and define
TESTS parametrized tests. The first test run (test_000_dind.py) uses `dind` and writes
`dind.pytest_plugin.session_daemon_figures()`; the conftest records how long collection took.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List

from common import DIND_IMAGE, SESSION, Row, cleanup_engine, failed_row, fmt, log, median

MODULES = 150
TESTS = 10

CONFTEST = """
import json, os, time
import docker  # docker-py: what a test suite of Docker users typically imports at collection

_t = {}

def pytest_sessionstart(session):
    _t["start"] = time.monotonic()

def pytest_collection_finish(session):
    _t["collected"] = time.monotonic()
    with open(os.environ["BENCH_OUT"] + ".collect", "w") as f:
        json.dump({"collection": _t["collected"] - _t["start"], "items": len(session.items)}, f)
"""

FIRST = """
import json, os
from dind.pytest_plugin import session_daemon_figures

def test_first_uses_dind(dind, request):
    assert dind.client.ping()
    with open(os.environ["BENCH_OUT"], "w") as f:
        json.dump(session_daemon_figures(request.config), f)
"""

MODULE = """
import decimal, email.parser, http.client, unittest.mock, xml.etree.ElementTree
import pytest

@pytest.mark.parametrize("n", range({tests}))
def test_case_{i}(n):
    assert decimal.Decimal(n) + {i} >= 0
"""


def _project(root: str) -> None:
    with open(os.path.join(root, "conftest.py"), "w") as f:
        f.write(CONFTEST)
    with open(os.path.join(root, "test_000_dind.py"), "w") as f:
        f.write(FIRST)
    for i in range(MODULES):
        with open(os.path.join(root, f"test_{i + 1:03d}_work.py"), "w") as f:
            f.write(MODULE.format(i=i, tests=TESTS))


def _one(root: str, lazy: bool) -> Dict[str, Any]:
    out = os.path.join(root, "figures.json")
    env = {**os.environ, "BENCH_OUT": out, "DIND_SESSION": SESSION, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "dind.pytest_plugin", "-p", "no:cacheprovider",
           "--dind-image", DIND_IMAGE, *(["--dind-lazy"] if lazy else []), root]
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"pytest exited {p.returncode}: {p.stdout[-500:]}")
    with open(out) as f:
        got: Dict[str, Any] = json.load(f)
    with open(out + ".collect") as f:
        got.update(json.load(f))
    got["wall"] = wall
    return got


def run(quick: bool) -> List[Row]:
    reps = 2 if quick else 5
    eager: List[Dict[str, Any]] = []
    lazy: List[Dict[str, Any]] = []
    log(f"pytest plugin: first test's wait for the session daemon, background start vs --dind-lazy "
        f"({MODULES} modules x {TESTS} tests + a conftest importing docker-py) ...")
    try:
        with tempfile.TemporaryDirectory(prefix="dind-bench-plugin-") as root:
            _project(root)
            for _ in range(reps):  # ABAB, each a fresh pytest
                eager.append(_one(root, lazy=False))
                lazy.append(_one(root, lazy=True))
    except Exception as e:  # noqa: BLE001 - reported as a failed row
        return [failed_row("plugin", "first test's wait for the session daemon", "<= 0.5x full start", e)]
    finally:
        cleanup_engine()
    for name, runs in (("background", eager), ("lazy", lazy)):
        log(f"  {name}: wait " + " ".join(f"{r['wait']:.2f}" for r in runs) + " s; start "
            + " ".join(f"{r['start']:.2f}" for r in runs) + " s; collection "
            + " ".join(f"{r['collection']:.2f}" for r in runs) + " s; whole run "
            + " ".join(f"{r['wall']:.2f}" for r in runs) + f" s ({runs[0]['items']} items)")
    w, full = median([r["wait"] for r in eager]), median([r["wait"] for r in lazy])
    start, coll = median([r["start"] for r in eager]), median([r["collection"] for r in eager])
    return [
        Row("plugin", "first test's wait for the session daemon", fmt(w, "s", 2),
            fmt(full, "s (today's full start)", 2), w / full if full else None, "<= 0.5x full start",
            w <= 0.5 * full, note=f"collection {coll:.2f} s median ({eager[0]['items']} items, conftest imports "
                                   f"docker-py); the background start itself took {start:.2f} s"),
        Row("plugin", "  the same background start, whole (info)", fmt(start, "s", 2),
            fmt(median([r["start"] for r in lazy]), "s (lazy start)", 2), None, "-", None),
        Row("plugin", "  the whole pytest run, background vs lazy (info)", fmt(median([r["wall"] for r in eager]), "s", 2),
            fmt(median([r["wall"] for r in lazy]), "s (lazy)", 2), None, "-", None),
    ]
