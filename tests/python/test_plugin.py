"""The pytest plugin (dind.pytest_plugin), run for real: inner pytest sessions in subprocesses (pytester) start
throwaway daemons from the offline dind image on the machine's engine.

Every inner run gets its own ``DIND_SESSION``, so everything its daemons create carries ``dind.session=<that id>``;
the ``session`` fixture removes all of it (containers with volumes, cert dirs) at teardown, also when a test fails.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest

import dind
from dind.daemon import Dind, reap
from helpers import exists as _exists, exports as _exports, outer as _outer, owned_by_this_session
from helpers import purge as _purge
from helpers import volume_exists as _volume_exists, volumes_of as _volumes_of

pytest_plugins = ["pytester"]

DIND_IMAGE = "dind-offline:latest"
REPO = Path(__file__).resolve().parents[2]
INNER_TIMEOUT = 300  # a safety net for a hung inner run, not a performance bound


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, offline_images: tuple) -> Iterator[str]:
    """A private DIND_SESSION for the inner runs; whatever they leave is removed (and reported as a failure)."""
    sid = f"h6-plugin-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DIND_SESSION", sid)
    # Subprocesses import the very dind package these tests import (installed, or a build tree on PYTHONPATH).
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    # Load the plugin explicitly (an installed dind would also load it by entry point: no double registration).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    yield sid
    leftovers = _purge(sid)
    assert not leftovers, f"the test left dind containers behind: {leftovers}"


@pytest.fixture
def inner(pytester: pytest.Pytester, session: str):
    """Runs pytest in a subprocess with the plugin and the offline dind image."""

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess("-p", "dind.pytest_plugin", "--dind-image", DIND_IMAGE, "-p",
                                             "no:cacheprovider", *args, timeout=INNER_TIMEOUT)

    return run


def test_session_daemon_runs_containers_and_failures_get_its_log_and_keep_prints_env(
        pytester: pytest.Pytester, inner, session: str) -> None:
    names = pytester.path / "names.txt"
    pytester.makepyfile(test_inner=f"""
        import pytest

        def test_runs_busybox(dind, dind_client):
            assert dind_client is dind.client
            loaded = dind.load_images(["busybox:latest"])
            assert any("busybox" in x for x in loaded), loaded
            out = dind_client.containers.run("busybox:latest", ["echo", "hello from inside"], remove=True)
            assert out == b"hello from inside\\n"
            open({str(names)!r}, "w").write(dind.name)

        def test_fails(dind_client):
            assert dind_client.ping()
            assert False, "deliberate failure"
        """)
    result = inner("--dind-keep", "-v")
    result.assert_outcomes(passed=1, failed=1)
    name = names.read_text()
    out = result.stdout.str()

    # The failed test's report carries the daemon's log (the one it used through dind_client).
    result.stdout.fnmatch_lines([f"*dind log: {name} (last 50 lines)*"])
    section = out.split(f"dind log: {name}", 1)[1]
    assert "API listen on" in section, section[:2000]
    # The passing test's report has no such section (it is not shown twice).
    assert out.count(f"dind log: {name}") == 1

    # --dind-keep: the daemon survives the run, and its env (printed at the end) works with the docker CLI.
    result.stdout.fnmatch_lines([f"*dind: daemon {name} kept running*", "export DOCKER_HOST=tcp://127.0.0.1:*",
                                 f"# remove it with: dind down {name}"])
    env = _exports(out)
    assert env["DOCKER_TLS_VERIFY"] == "1" and os.path.isdir(env["DOCKER_CERT_PATH"])
    proc = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()

    # It belongs to the terminal session (or CI job) pytest ran in, which lives on: a reap spares it.
    assert owned_by_this_session(int(_outer().containers.get(name).labels["dind.owner-pid"]))
    reap()
    assert _exists(name)

    # Then it goes like any other: container, volumes and certs.
    volumes = _volumes_of(name)
    Dind.attach(name).close(force=True)
    assert not _exists(name)
    assert not any(_volume_exists(v) for v in volumes)
    assert not os.path.exists(env["DOCKER_CERT_PATH"])


def test_factory_daemons_are_removed_after_each_test(pytester: pytest.Pytester, inner, session: str) -> None:
    record = pytester.path / "made.json"
    pytester.makepyfile(test_factory=f"""
        import json
        import pytest
        import dind as dind_pkg
        from dind import errors

        def test_two_daemons(dind_factory):
            assert dind_factory.defaults["image"] == "dind-offline:latest"
            a = dind_factory()
            b = dind_factory(labels={{"purpose": "second"}})
            assert a.client.ping() and b.client.ping()
            assert a.host != b.host and a.name != b.name
            assert a.client.info()["ID"] != b.client.info()["ID"]
            outer = dind_pkg.Client("unix:///var/run/docker.sock")
            vols = {{d.name: [m["Name"] for m in outer.containers.get(d.name).attrs["Mounts"] if m["Type"] == "volume"]
                    for d in (a, b)}}
            json.dump({{"names": [a.name, b.name], "certs": [a.cert_path, b.cert_path], "volumes": vols}},
                      open({str(record)!r}, "w"))

        def test_they_are_gone_before_the_next_test(dind_factory):
            made = json.load(open({str(record)!r}))
            outer = dind_pkg.Client("unix:///var/run/docker.sock")
            for name in made["names"]:
                with pytest.raises(errors.NotFound):
                    outer.containers.get(name)
        """)
    result = inner()
    result.assert_outcomes(passed=2)
    made = json.loads(record.read_text())
    assert len(made["names"]) == 2
    for name in made["names"]:
        assert not _exists(name)
        assert made["volumes"][name], "a dind container has its /var/lib/docker volume"
        assert not any(_volume_exists(v) for v in made["volumes"][name])
    for certs in made["certs"]:
        assert certs and not os.path.exists(certs)


@pytest.mark.parametrize("share", [False, True], ids=["per-worker", "shared"])
def test_xdist_workers_get_a_daemon_each_or_share_one(pytester: pytest.Pytester, inner, session: str,
                                                     share: bool) -> None:
    """With pytest-xdist each worker has its own session daemon; with --dind-share the controller starts one that
    every worker attaches to. Either way none is left after the run. ``--dist each`` runs every test on both."""
    record = pytester.path / "seen"
    record.mkdir()
    pytester.makepyfile(test_xdist=f"""
        import os

        def test_uses_the_session_daemon(dind, dind_client):
            assert dind_client.ping()
            worker = os.environ["PYTEST_XDIST_WORKER"]
            open(os.path.join({str(record)!r}, worker), "w").write(dind.name + " " + dind_client.info()["ID"])
        """)
    result = inner("-p", "xdist.plugin", "-n", "2", "--dist", "each", *(["--dind-share"] if share else []))
    result.assert_outcomes(passed=2)
    seen = {p.name: p.read_text().split() for p in record.iterdir()}
    assert sorted(seen) == ["gw0", "gw1"]
    names = {name for name, _ in seen.values()}
    engines = {engine for _, engine in seen.values()}
    assert len(names) == len(engines) == (1 if share else 2)
    for name in names:
        assert not _exists(name)


def _run_holding_a_daemon(pytester: pytest.Pytester) -> Tuple["subprocess.Popen[bytes]", Dict[str, str]]:
    """Starts an inner pytest run (a subprocess) whose one test holds the session daemon and sleeps; returns the
    process and {"name", "cert_path"} of its daemon once it is running."""
    info = pytester.path / "daemon.json"
    pytester.makepyfile(test_hold=f"""
        import json, os, time

        def test_hold(dind):
            json.dump({{"name": dind.name, "cert_path": dind.cert_path}}, open({str(info)!r} + ".tmp", "w"))
            os.rename({str(info)!r} + ".tmp", {str(info)!r})
            time.sleep(600)
        """)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "dind.pytest_plugin", "--dind-image", DIND_IMAGE,
                             "-p", "no:cacheprovider", "test_hold.py"], cwd=pytester.path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + INNER_TIMEOUT
        while not info.exists():
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            assert time.monotonic() < deadline, "the inner run never started its daemon"
            time.sleep(0.1)
        return proc, json.loads(info.read_text())
    except BaseException:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise


def test_a_run_killed_with_sigkill_is_reaped_by_the_next_run(pytester: pytest.Pytester, inner,
                                                              session: str) -> None:
    proc, daemon = _run_holding_a_daemon(pytester)
    try:
        volumes = _volumes_of(daemon["name"])
    finally:
        proc.kill()  # SIGKILL: no finalizer, no atexit, no signal handler runs
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    # The kill left the daemon, its volume and its certs behind ...
    assert _exists(daemon["name"])
    assert os.path.exists(daemon["cert_path"])

    # ... and the next run that uses the fixtures reaps them at its start (this one starts no daemon itself).
    pytester.makepyfile(test_next="""
        def test_next(dind_factory):
            pass
        """)
    result = inner("test_next.py")
    result.assert_outcomes(passed=1)
    assert not _exists(daemon["name"])
    assert not any(_volume_exists(v) for v in volumes)
    assert not os.path.exists(daemon["cert_path"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_run_removes_its_daemon_itself(pytester: pytest.Pytester, session: str, signum: int) -> None:
    # Ctrl-C: pytest tears the session down (fixture finalizers); SIGTERM: dind's own handler removes its daemons.
    proc, daemon = _run_holding_a_daemon(pytester)
    try:
        volumes = _volumes_of(daemon["name"])
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=INNER_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    text = out.decode(errors="replace")
    if signum == signal.SIGINT:
        assert proc.returncode == pytest.ExitCode.INTERRUPTED, text
        assert "KeyboardInterrupt" in text
    else:
        assert proc.returncode == -signal.SIGTERM, text
    # Gone at once, without waiting for a later run to reap it.
    assert not _exists(daemon["name"])
    assert not any(_volume_exists(v) for v in volumes)
    assert not os.path.exists(daemon["cert_path"])


def test_a_daemon_that_cannot_start_fails_setup_with_the_reason(pytester: pytest.Pytester, session: str) -> None:
    # busybox is no dind image: its shell exits at once, so the start fails fast with the container's exit code.
    pytester.makepyfile(test_bad="""
        def test_uses_dind(dind):
            pass
        """)
    result = pytester.runpytest_subprocess("-p", "dind.pytest_plugin", "--dind-image", "busybox:latest",
                                           "--dind-timeout", "30", "-p", "no:cacheprovider", timeout=INNER_TIMEOUT)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*DaemonStartError*dind container*(image busybox:latest)*"])


def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester, session: str) -> None:
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "dind.pytest_plugin", "--dind-timeout", "soon",
                                           timeout=INNER_TIMEOUT)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dind-timeout*not a number of seconds*"])


def test_the_examples_pass(pytester: pytest.Pytester, inner, session: str) -> None:
    for f in ("conftest.py", "test_example.py"):
        shutil.copy(REPO / "examples" / f, pytester.path / f)
    result = inner("-v")
    result.assert_outcomes(passed=3)


def test_the_ci_script_example_runs_and_cleans_up(session: str) -> None:
    env = {**os.environ, "DIND_IMAGE": DIND_IMAGE}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "ci_script.py")], env=env, capture_output=True,
                          text=True, timeout=INNER_TIMEOUT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hello from inside a throwaway dind" in proc.stdout
    assert "teardown (container, volumes, certs)" in proc.stdout
