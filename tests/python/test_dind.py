"""dind.Dind against the real engine and the offline dind image: lifecycle, env for the real docker CLI,
teardown from every exit path, reaping, and bad input."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Dict, List

import pytest

import dind
from dind import errors

DIND_IMAGE = "dind-offline:latest"
TEST_LABEL = {"dind.test": f"test-dind-{os.getpid()}"}
SHARED_LABEL = {"dind.test": f"test-dind-shared-{os.getpid()}"}  # the module's shared daemon, checked at its end


def docker_cli() -> str:
    return shutil.which("docker") or "/usr/bin/docker"


def ours(outer: dind.Client, labels: Dict[str, str] = TEST_LABEL) -> List[object]:
    """Containers this test module made that are still on the engine."""
    label = "dind.test=" + labels["dind.test"]
    return outer.containers.list(all=True, filters={"label": [label]})


@pytest.fixture(scope="module")
def outer(offline_images: tuple) -> dind.Client:
    return dind.from_env()


@pytest.fixture(autouse=True)
def nothing_left(outer: dind.Client):
    yield
    assert ours(outer) == [], "a test left a dind container behind"


@pytest.fixture(scope="module")
def daemon(outer: dind.Client):
    """One daemon shared by the read-only tests of this module."""
    with dind.Dind(DIND_IMAGE, labels=SHARED_LABEL, client=outer) as d:
        d.load_images(["busybox:latest"])
        yield d
    assert ours(outer, SHARED_LABEL) == []


def test_with_block_gives_a_ready_daemon_and_removes_everything(outer: dind.Client) -> None:
    with dind.Dind(DIND_IMAGE, labels=TEST_LABEL) as d:
        assert d.client.ping() is True
        assert d.client.version()["ApiVersion"]
        cert_path = Path(d.cert_path)
        assert oct(cert_path.stat().st_mode & 0o777) == "0o700"
        assert oct((cert_path / "key.pem").stat().st_mode & 0o777) == "0o600"
        cid = d.id
        assert set(d.timings) == {"certs", "create", "start", "ready", "total"}
    assert d.closed
    assert not cert_path.exists()
    with pytest.raises(errors.NotFound):
        outer.containers.get(cid)
    d.close()  # idempotent


def test_env_works_with_the_real_docker_cli_as_is(daemon: dind.Dind) -> None:
    env = {**os.environ, **daemon.env}
    assert set(daemon.env) == {"DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}
    out = subprocess.run([docker_cli(), "version", "--format", "{{.Server.Version}}"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == daemon.client.version()["Version"]
    run = subprocess.run([docker_cli(), "run", "--rm", "busybox:latest", "echo", "via the CLI"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.stdout == "via the CLI\n", run.stderr


def test_containers_run_inside(daemon: dind.Dind) -> None:
    assert daemon.client.containers.run("busybox:latest", ["echo", "hi"], remove=True) == b"hi\n"


def test_exec_and_logs(daemon: dind.Dind) -> None:
    code, out = daemon.exec(["docker", "info", "--format", "{{.ServerVersion}}"])
    assert code == 0 and out.strip()
    code, _ = daemon.exec("exit 3")
    assert code == 3
    assert "API listen on" in daemon.logs(tail=500)


def test_attach_from_another_handle_and_keep(outer: dind.Client) -> None:
    d = dind.Dind(DIND_IMAGE, labels=TEST_LABEL)
    d.keep()
    d.close()  # kept: still running
    again = dind.Dind.attach(d.name)
    assert again.client.ping()
    assert again.env == d.env
    again.close(force=True)
    assert not Path(d.cert_path).exists()


def test_four_daemons_from_threads(outer: dind.Client) -> None:
    results: Dict[int, object] = {}

    def one(i: int) -> None:
        try:
            with dind.Dind(DIND_IMAGE, labels=TEST_LABEL) as d:
                results[i] = d.client.ping()
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {0: True, 1: True, 2: True, 3: True}


def test_daemon_that_exits_raises_with_its_log(outer: dind.Client) -> None:
    with pytest.raises(errors.DaemonStartError) as e:
        dind.Dind(DIND_IMAGE, labels=TEST_LABEL, dockerd_args=["--no-such-flag"])
    assert "no-such-flag" in e.value.log_tail
    assert "exited" in str(e.value)


def test_missing_image_names_it(outer: dind.Client) -> None:
    with pytest.raises(errors.DockerException, match="dind-missing-image:0"):
        dind.Dind("dind-missing-image:0", labels=TEST_LABEL)


def test_contradictory_options(outer: dind.Client) -> None:
    with pytest.raises(errors.DockerException, match="TLS"), pytest.warns(errors.InsecureWarning):
        dind.Dind(DIND_IMAGE, tls=False, tls_san=["DNS:x"], labels=TEST_LABEL)
    with pytest.raises(ValueError):
        dind.Dind(DIND_IMAGE, pull="sometimes", labels=TEST_LABEL)


def test_outer_engine_absent() -> None:
    with pytest.raises(errors.ConnectionError, match="/nonexistent.sock"):
        dind.Dind(DIND_IMAGE, client=dind.Client("unix:///nonexistent.sock"), labels=TEST_LABEL)


def test_port_already_taken(outer: dind.Client) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(errors.DaemonStartError, match=str(port)):
            dind.Dind(DIND_IMAGE, host_port=port, labels=TEST_LABEL)


def _script(body: str) -> List[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


def _assert_gone(outer: dind.Client, cid: str, cert_path: str, volumes: List[str]) -> None:
    """The container, its cert dir and its volumes no longer exist."""
    with pytest.raises(errors.NotFound):
        outer.containers.get(cid)
    assert not Path(cert_path).exists(), f"the cert directory {cert_path} was left behind"
    for name in volumes:
        with pytest.raises(errors.NotFound):
            outer.volumes.get(name)


def _wait_for_daemon(outer: dind.Client, label: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = outer.containers.list(filters={"label": [label]})
        if found:
            return found[0].id
        time.sleep(0.2)
    raise AssertionError(f"no daemon labelled {label} appeared")


@pytest.mark.parametrize("how", ["exit", "sigterm"])
def test_teardown_at_exit_and_on_sigterm(outer: dind.Client, how: str, tmp_path: Path) -> None:
    """A script that never closes its daemon: interpreter exit and SIGTERM still remove it."""
    marker = tmp_path / "ready"
    label = f"dind.test-exit={os.getpid()}-{how}"
    proc = subprocess.Popen(_script(f"""
        import pathlib, time, dind
        d = dind.Dind({DIND_IMAGE!r}, labels={{**{TEST_LABEL!r}, {label.split('=')[0]!r}: {label.split('=')[1]!r}}})
        pathlib.Path({str(marker)!r}).write_text(d.cert_path)
        if {how!r} == "sigterm":
            time.sleep(300)
        """))
    try:
        cid = _wait_for_daemon(outer, label)
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
        if how == "sigterm":
            assert proc.returncode == -signal.SIGTERM
        with pytest.raises(errors.NotFound):
            outer.containers.get(cid)
        assert not Path(marker.read_text()).exists(), "the cert directory was left behind"
    finally:
        proc.kill()
        proc.wait()


def test_ctrl_c_while_waiting_for_the_daemon_abandons_the_start_and_leaves_nothing(outer: dind.Client,
                                                                                 tmp_path: Path) -> None:
    """Ctrl-C during start() interrupts it (no waiting out the start timeout): KeyboardInterrupt, and the container,
    its volumes and the cert dir are gone. Its entrypoint is replaced by one that never starts dockerd."""
    never = tmp_path / "never-ready.sh"
    never.write_text("#!/bin/sh\nexec sleep 600\n")
    never.chmod(0o755)
    label = f"dind.test-ctrl-c={os.getpid()}"
    proc = subprocess.Popen(_script(f"""
        import signal, sys, dind
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background job ignores it)
        try:
            dind.Dind({DIND_IMAGE!r}, start_timeout=600, mounts=[{str(never) + ":/usr/local/bin/dockerd-entrypoint.sh:ro"!r}],
                      labels={{**{TEST_LABEL!r}, {label.split('=')[0]!r}: {label.split('=')[1]!r}}})
        except KeyboardInterrupt:
            print("interrupted")
            sys.exit(0)
        print("started")
        """), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        cid = _wait_for_daemon(outer, label)  # running: start() now polls a daemon that never answers
        container = outer.containers.get(cid)
        cert_path = container.labels["dind.cert-path"]
        volumes = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=300)  # a safety net: without cancellation it would wait out 600 s
        assert proc.returncode == 0 and out.strip() == "interrupted", out
        _assert_gone(outer, cid, cert_path, volumes)
    finally:
        proc.kill()
        proc.wait()


def test_sigkill_leaves_what_reap_removes(outer: dind.Client, tmp_path: Path) -> None:
    label = f"dind.test-kill={os.getpid()}"
    proc = subprocess.Popen(_script(f"""
        import time, dind
        d = dind.Dind({DIND_IMAGE!r}, labels={{**{TEST_LABEL!r}, {label.split('=')[0]!r}: {label.split('=')[1]!r}}})
        time.sleep(300)
        """))
    try:
        cid = _wait_for_daemon(outer, label)
        container = outer.containers.get(cid)
        cert_path = container.labels["dind.cert-path"]
        volumes = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
        assert volumes, "the dind container has its /var/lib/docker volume"
        proc.kill()  # no chance to clean up
        proc.wait()
        assert outer.containers.get(cid)  # still there: nothing could tear it down
        removed = dind.reap()
        assert cid in removed["containers"]
        _assert_gone(outer, cid, cert_path, volumes)
    finally:
        proc.kill()
        proc.wait()


def test_list_daemons(daemon: dind.Dind) -> None:
    names = {d["name"]: d for d in dind.list_daemons()}
    assert daemon.name in names
    assert names[daemon.name]["host"] == daemon.host
    assert names[daemon.name]["owner_pid"] == os.getpid()
