"""The pytest plugin's background start of the session daemon, and --dind-arg / --dind-option, run for real: inner
pytest sessions (subprocesses) against the machine's engine, with the offline dind image.

The inner test modules wait at import time until their session's dind container exists on the engine: that proves
the start runs while tests are still being collected, without asserting any time.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from dind.plugin_options import _option_value
from helpers import outer
from test_plugin import DIND_IMAGE, INNER_TIMEOUT, inner, session  # noqa: F401 - fixtures

pytest_plugins = ["pytester"]

# At import of an inner test module: block until this session's dind container exists (the background start has
# created it), then go on. SIGNAL_AT, when set, is the file to create at that point (the outer test then signals).
WAIT_FOR_CONTAINER = """
import os, time
import dind

_engine = dind.Client.from_env()
_deadline = time.monotonic() + 120
while not _engine.containers.list(all=True, ignore_removed=True, filters={"label": ["dind.session=" + os.environ["DIND_SESSION"]]}):
    assert time.monotonic() < _deadline, "no dind container appeared while this module was being imported"
    time.sleep(0.02)
if os.environ.get("SIGNAL_AT"):
    open(os.environ["SIGNAL_AT"], "w").close()
    time.sleep(600)
"""


@pytest.fixture
def tmpdir_checked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A TMPDIR of the test's own for the inner runs (where daemons' private directories go), checked empty after."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    yield tmp
    left = [p.name for p in tmp.iterdir() if not p.name.startswith("pytest-of-")]
    assert left == [], f"the inner run left private directories behind: {left}"


def _made(session: str) -> list:
    return outer().containers.list(all=True, filters={"label": [f"dind.session={session}"]})


def _volumes(session: str) -> list:
    return [v.name for v in outer().volumes.list(filters={"label": [f"dind.session={session}"]})]


def test_the_session_daemon_starts_during_collection_and_the_first_test_joins_it(
        pytester: pytest.Pytester, inner, session: str, tmpdir_checked: Path) -> None:
    figures = pytester.path / "figures.json"
    pytester.makepyfile(test_bg=WAIT_FOR_CONTAINER + f"""
import json
from dind.pytest_plugin import session_daemon_figures

def test_first(dind, dind_client, request):
    assert dind_client.ping()
    json.dump(session_daemon_figures(request.config), open({str(figures)!r}, "w"))

def test_second(dind):
    assert dind.client.ping()
""")
    result = inner("-v")
    result.assert_outcomes(passed=2)
    got = json.loads(figures.read_text())
    # The container existed before collection ended, so the test waited for a part of the start only.
    assert 0 <= got["wait"] < got["start"], got
    result.stdout.fnmatch_lines(["*the session daemon started in * s; the first test waited * s for it*"])


def test_no_test_using_the_session_daemon_cancels_the_start(pytester: pytest.Pytester, inner, session: str,
                                                             tmpdir_checked: Path) -> None:
    pytester.makepyfile(test_none=WAIT_FOR_CONTAINER + """
def test_without_dind():
    pass

def test_with_a_factory(dind_factory):
    pass
""")
    result = inner("-v")
    result.assert_outcomes(passed=2)
    # Cancelled and removed when collection ended, not at the end of the run.
    assert _made(session) == [] and _volumes(session) == []
    assert "the first test waited" not in result.stdout.str()


def test_lazy_starts_the_daemon_in_the_first_test(pytester: pytest.Pytester, inner, session: str) -> None:
    figures = pytester.path / "figures.json"
    pytester.makepyfile(test_lazy=f"""
import json, os
import dind
from dind.pytest_plugin import session_daemon_figures

_engine = dind.Client.from_env()
assert not _engine.containers.list(all=True, filters={{"label": ["dind.session=" + os.environ["DIND_SESSION"]]}})

def test_first(dind, request):
    json.dump(session_daemon_figures(request.config), open({str(figures)!r}, "w"))
""")
    pytester.makeini("[pytest]\ndind_lazy = true\n")
    inner().assert_outcomes(passed=1)
    got = json.loads(figures.read_text())
    assert got["wait"] >= got["start"] > 0, got  # the test waited for the whole start (the reap included)
    inner("--dind-lazy", "-o", "dind_lazy=false").assert_outcomes(passed=1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_during_the_background_start_leaves_nothing(pytester: pytest.Pytester, session: str,
                                                            tmpdir_checked: Path, signum: int) -> None:
    marker = pytester.path / "container-exists"
    pytester.makepyfile(test_hang=WAIT_FOR_CONTAINER + "\ndef test_never(dind):\n    pass\n")
    env = {**os.environ, "SIGNAL_AT": str(marker)}
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "dind.pytest_plugin", "--dind-image", DIND_IMAGE,
                             "-p", "no:cacheprovider", "test_hang.py"], cwd=pytester.path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + INNER_TIMEOUT
        while not marker.exists():
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            assert time.monotonic() < deadline, "the inner run never created its daemon's container"
            time.sleep(0.02)
        made = _made(session)
        assert made, "the container the inner run made is gone already"
        # Mid-start: the container exists, the daemon need not answer yet (the module sleeps from here on).
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=INNER_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.decode(errors="replace")
    if signum == signal.SIGINT:
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, text
    else:
        assert proc.returncode == -signal.SIGTERM, text
    assert _made(session) == [], text
    assert _volumes(session) == [], text


def test_dind_arg_and_dind_option_reach_the_session_daemon_and_the_factory(pytester: pytest.Pytester, inner,
                                                                          session: str) -> None:
    pytester.makepyfile(test_opts="""
import os

import dind as dind_module

def _label(name, key="from.option"):
    return dind_module.Client.from_env().containers.get(name).labels[key]

def test_session_daemon(dind, dind_client):
    assert "from.dind-arg=yes" in dind_client.info()["Labels"]
    assert _label(dind.name) == "yes"
    assert _label(dind.name, "dind.owner-pid") == str(os.getppid())  # owner=parent, not the plugin's "self"

def test_factory(dind_factory):
    d = dind_factory()
    assert "from.dind-arg=yes" in d.client.info()["Labels"]
    assert _label(d.name) == "yes"
""")
    result = inner("--dind-arg=--label=from.dind-arg=yes", "--dind-option", 'labels={"from.option": "yes"}',
                   "--dind-option", "start_timeout=120", "--dind-option", "tls=true", "--dind-option", "owner=parent")
    result.assert_outcomes(passed=2)


def test_bad_dind_options_are_usage_errors_naming_the_key_and_the_known_ones(pytester: pytest.Pytester,
                                                                           session: str) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "dind.pytest_plugin", "--dind-option", "colour=blue",
                                           timeout=INNER_TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dind-option*dind.Dind has no option 'colour' (known: image, *dockerd_args*"])
    for bad in ("labels={not json", "no-equals-sign"):
        result = pytester.runpytest_subprocess("-p", "dind.pytest_plugin", "--dind-option", bad,
                                               timeout=INNER_TIMEOUT)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, bad
        result.stderr.fnmatch_lines(["*--dind-option*"])


def test_option_values_are_read_as_json_bools_numbers_or_strings() -> None:
    assert _option_value("3") == 3 and isinstance(_option_value("3"), int)
    assert _option_value("2.5") == 2.5
    assert _option_value("true") is True and _option_value("False") is False
    assert _option_value("null") is None
    assert _option_value('["--mtu=1400", "--debug"]') == ["--mtu=1400", "--debug"]
    assert _option_value('{"a": "b"}') == {"a": "b"}
    assert _option_value("docker:dind") == "docker:dind"
    assert _option_value("") == ""


def test_dind_reuse_hands_the_next_run_the_same_daemon_and_dind_cache_its_images(
        pytester: pytest.Pytester, inner, session: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DIND_STATE_DIR", str(tmp_path / "state"))
    key, cache = f"{session}-reuse", f"{session}-cache"
    record = pytester.path / "runs.txt"
    pytester.makepyfile(test_inner=f"""
        def test_daemon(dind):
            tags = [t for i in dind.client.images.list() for t in i.tags]
            if "busybox:latest" not in tags:
                dind.load_images(["busybox:latest"])
            open({str(record)!r}, "a").write(f"{{dind.name}} {{dind.reused}} {{'busybox:latest' in tags}}\\n")
    """)
    try:
        for _ in range(2):
            inner(f"--dind-reuse={key}", "--dind-cache", cache).assert_outcomes(passed=1)
        first, second = [line.split() for line in record.read_text().splitlines()]
        assert first[1:] == ["False", "False"], "the first run has nothing to reuse and an empty cache"
        assert second == [first[0], "True", "True"], "the second run must get the first run's daemon and images"
        # A different key: a new daemon; the busy cache is refused with the holder's name, in the test that uses it.
        busy = inner("--dind-reuse=other-" + key, "--dind-cache", cache)
        busy.assert_outcomes(errors=1)
        busy.stdout.fnmatch_lines([f"*cache volume {cache} is in use by container {first[0]}*"])
    finally:
        for c in outer().containers.list(all=True, filters={"label": [f"dind.reuse={key}"]}):
            c.remove(force=True, v=True)
        if any(v.name == cache for v in outer().volumes.list()):
            outer().volumes.get(cache).remove()
