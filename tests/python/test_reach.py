"""Reach from Python and the CLI, on the engine's host: the automatic choice, a daemon reached only through the tunnel
(streams, archives, exec, the docker CLI through the forwarder; what `dind up` leaves serving it), and the
combinations that are refused before anything is made. The job-container, service and ssh set-ups are in
test_ci_reach.py.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import time
import uuid
from typing import Dict, Iterator

import pytest

import dind
from dind import errors
from helpers import exports, outer, purge

IMAGE = "dind-offline:latest"
TIMEOUT = 300  # a safety net for a hung command, not a performance bound


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, offline_images: tuple) -> Iterator[str]:
    """A DIND_SESSION of the test's own; what is left of it afterwards fails the test."""
    sid = f"test-reach-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DIND_SESSION", sid)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    yield sid
    assert purge(sid) == [], "the test left dind containers behind"


def _cli(*args: str, env: "Dict[str, str] | None" = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dind", *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def _docker(env: Dict[str, str], *args: str, input: "str | None" = None) -> subprocess.CompletedProcess:
    """The real docker CLI with exactly the daemon's environment (nothing of this shell's DOCKER_* left)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=TIMEOUT, env={**clean, **env},
                          input=input)


def _forwarders(daemon_id: str) -> int:
    out = subprocess.run(["pgrep", "-f", f"dind _forward {daemon_id}"], capture_output=True, text=True).stdout
    return len(out.split())


def test_on_the_engines_host_the_automatic_reach_is_the_loopback_port(session: str) -> None:
    with dind.Dind(IMAGE) as d:
        assert d.reach.kind == "loopback", d.reach.reason
        assert "engine's host" in d.reach.reason
        assert d.host == d.reach.address and d.host.startswith("tcp://127.0.0.1:")
        assert "loopback" in str(d.reach) and d.env["DOCKER_HOST"] == d.host


def test_through_the_tunnel_no_port_is_published_and_everything_works(session: str) -> None:
    with dind.Dind(IMAGE, reach="tunnel") as d:
        assert d.reach.kind == "tunnel" and d.host.startswith("tunnel://"), d.reach
        assert not outer().containers.get(d.id).attrs["HostConfig"].get("PortBindings")
        d.load_images(["busybox:latest"])
        c = d.client.containers.run("busybox:latest", ["sh", "-c", "for i in 1 2 3; do echo l$i; sleep 0.1; done; "
                                                       "sleep 60"], detach=True)
        seen = b""
        for chunk in c.logs(stream=True, follow=True):
            seen += chunk
            if b"l3" in seen:
                break
        assert seen.startswith(b"l1\nl2\nl3"), seen
        code, out = c.exec_run(["sh", "-c", "echo from-exec; exit 3"])
        assert (code, out) == (3, b"from-exec\n")
        payload = io.BytesIO()
        with tarfile.open(fileobj=payload, mode="w") as tar:
            data = os.urandom(1 << 20)
            info = tarfile.TarInfo("blob")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        assert c.put_archive("/tmp", payload.getvalue())
        stream, stat = c.get_archive("/tmp/blob")
        assert stat["size"] == 1 << 20
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            assert tar.extractfile("blob").read() == data
        # The docker CLI through the forwarder: a unix socket in the daemon's private directory.
        env = d.env
        assert set(env) == {"DOCKER_HOST"} and env["DOCKER_HOST"] == f"unix://{d.dir}/docker.sock"
        assert os.stat(env["DOCKER_HOST"][7:]).st_mode & 0o777 == 0o600
        cli = _docker(env, "run", "--rm", "-i", "busybox:latest", "cat", input="stdin through the forwarder")
        assert (cli.returncode, cli.stdout) == (0, "stdin through the forwarder"), cli.stderr
        c.remove(force=True)
        sock = env["DOCKER_HOST"][7:]
    # Closing the Dind ended the forwarder: the socket is gone and nothing answers there.
    assert not os.path.exists(sock)
    assert _docker({"DOCKER_HOST": f"unix://{sock}"}, "version").returncode != 0


def test_dind_up_through_the_tunnel_stays_usable_after_it_exits(session: str) -> None:
    name = f"{session}-t"
    up = _cli("up", "--name", name, "--image", IMAGE, "--reach", "tunnel", "--load", "busybox:latest")
    assert up.returncode == 0, up.stderr
    env = exports(up.stdout)
    assert env["DOCKER_HOST"].startswith("unix://") and "DOCKER_TLS_VERIFY" not in env
    assert "unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH" in up.stdout
    daemon_id = outer().containers.get(name).id
    # `dind up` has exited; the forwarder it left serves the docker CLI.
    assert _forwarders(daemon_id) == 1
    run = _docker(env, "run", "--rm", "busybox:latest", "echo", "after dind up exited")
    assert run.stdout == "after dind up exited\n", run.stderr
    ls = _cli("ls")
    row = next(line for line in ls.stdout.splitlines() if line.startswith(name + " "))
    assert row.split()[1:4] == ["running", "tunnel", f"tunnel://{name}/var/run/docker.sock"], row
    assert exports(_cli("env", name).stdout) == env
    down = _cli("down", name)
    assert down.returncode == 0, down.stderr
    deadline = time.monotonic() + 10
    while _forwarders(daemon_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _forwarders(daemon_id) == 0, "the forwarder outlived its daemon"
    assert not os.path.exists(env["DOCKER_HOST"][7:])


def test_combinations_that_cannot_hold_are_refused_before_anything_is_made(session: str) -> None:
    # A remote engine (the name need not resolve: nothing is dialled before the refusal).
    remote = dind.Client("tcp://build-host.invalid:2376")
    with pytest.warns(errors.InsecureWarning), pytest.raises(errors.DockerException) as e:
        dind.Dind(IMAGE, tls=False, reach="published", client=remote)
    assert "plain TCP" in str(e.value) and "insecure_publish" in str(e.value)
    with pytest.raises(errors.DockerException) as e:
        dind.Dind(IMAGE, reach="tunnel", host="ci-host.invalid")
    assert "cannot go with reach='tunnel'" in str(e.value)
    with pytest.raises(ValueError) as v:
        dind.Dind(IMAGE, reach="teleport")
    assert "teleport" in str(v.value) and "tunnel" in str(v.value)
    assert outer().containers.list(all=True, filters={"label": [f"dind.session={session}"]}) == []
