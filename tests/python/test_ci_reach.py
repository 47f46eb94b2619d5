"""Reach from where CI really runs, against the real engine: a job container with the engine's socket mounted, a job
beside a dind service (GitLab's ``services: docker:dind``, an engine over tcp+TLS on a user network), an engine over
ssh:// (an sshd on 127.0.0.1 in front of this machine's engine) and through a docker context; the fallback to the
tunnel, and the asked-for reaches that cannot work, which fail fast and say why.

Every job runs this checkout's wheel (the ``job_image`` fixture). Each test leaves nothing behind.
"""
from __future__ import annotations

import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import dind
import jobs
from dind import errors
from helpers import purge
from jobs import run_in_job

IMAGE = "dind-offline:latest"
TIMEOUT = 240  # a safety net for a hung job, not a performance bound

# What a job does with dind (the README's "Where your CI runs" recipes): a Dind, an image loaded, a container run.
SCRIPT = b"""
import sys, dind
with dind.Dind("dind-offline:latest") as d:
    print("reach", d.reach.kind, d.host)
    print("why", d.reach.reason)
    d.load_images(["busybox:latest"])
    print("ran", d.client.containers.run("busybox:latest", ["echo", "hi from inside"], remove=True).decode().strip())
"""

# A test using the plugin's session fixture, run by pytest inside the job.
PLUGIN_TEST = b"""
def test_uses_the_session_daemon(dind):
    dind.load_images(["busybox:latest"])
    assert dind.client.containers.run("busybox:latest", ["echo", "ok"], remove=True) == b"ok\\n"
    print("REACH", dind.reach.kind, "|", dind.reach.reason)
"""


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    yield
    assert jobs.leftovers(jobs.JOB_LABEL) == [], "a job container or network was left behind"


@pytest.fixture
def session() -> Iterator[str]:
    """A DIND_SESSION for what the jobs start on the machine's engine; whatever is left of it fails the test."""
    sid = f"test-ci-reach-{uuid.uuid4().hex[:10]}"
    yield sid
    assert purge(sid) == [], "a daemon started in a job was left behind"


def _lines(out: str, key: str) -> str:
    return next((line[len(key) + 1:] for line in out.splitlines() if line.startswith(key + " ")), "")


# -- a job with the engine's socket mounted ------------------------------------------------------------------------
def socket_job(image: str, command: str, session: str, **kw: object) -> "tuple[int, str]":
    env = {"DIND_SESSION": session, "DIND_IMAGE": IMAGE, **dict(kw.pop("environment", {}) or {})}  # type: ignore[arg-type]
    return run_in_job(image, command, environment=env, timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def test_socket_job_script_reaches_its_daemon_on_its_own_network(job_image: str, session: str) -> None:
    code, out = socket_job(job_image, "python3 /job/script.py", session, files={"/job/script.py": SCRIPT})
    assert code == 0, out
    kind, _, host = _lines(out, "reach").partition(" ")
    assert kind == "network", out
    assert "runs in container" in _lines(out, "why") and "nothing published" in _lines(out, "why"), out
    assert host.startswith("tcp://172.") or host.startswith("tcp://10."), out  # its address on the job's network
    assert _lines(out, "ran") == "hi from inside", out


def test_socket_job_pytest_fixture(job_image: str, session: str) -> None:
    code, out = socket_job(job_image, "cd /job && pytest -q -s -p no:cacheprovider --dind-image dind-offline:latest "
                           "test_in_job.py 2>&1", session, files={"/job/test_in_job.py": PLUGIN_TEST})
    assert code == 0, out
    assert "REACH network" in out and "1 passed" in out, out


def test_socket_job_dind_run(job_image: str, session: str) -> None:
    code, out = socket_job(job_image, "dind run --load busybox:latest -- docker run --rm busybox echo hi 2>&1", session)
    assert (code, out) == (0, "hi\n"), out


def test_socket_job_override_that_does_not_answer_fails_fast_and_says_why(job_image: str, session: str) -> None:
    # DIND_HOST=127.0.0.1 inside a job: the engine publishes on its host's loopback, the job dials its own.
    script = b"""
import time, dind
t0 = time.monotonic()
try:
    dind.Dind("dind-offline:latest", start_timeout=120)
except dind.errors.DaemonStartError as e:
    print("ERROR", str(e).splitlines()[0])
    print("SECONDS", round(time.monotonic() - t0, 1))
"""
    code, out = socket_job(job_image, "python3 /job/script.py", session, files={"/job/script.py": script},
                           environment={"DIND_HOST": "127.0.0.1"})
    assert code == 0, out
    error = _lines(out, "ERROR")
    assert "does not answer from here" in error and "API listen on" in error, out
    assert "DIND_HOST=127.0.0.1 overrides" in error and "reach='tunnel'" in error, out
    assert "did not answer GET /_ping" not in error, "it waited for the start timeout instead of failing fast"
    assert float(_lines(out, "SECONDS")) < 60, out  # far below the 120 s start timeout


# -- a job beside a dind service (an engine over tcp+TLS on a user network) ----------------------------------------
def service_job(svc: jobs.DindService, image: str, command: str, **kw: object) -> "tuple[int, str]":
    env = {**svc.env, "DIND_IMAGE": IMAGE, **dict(kw.pop("environment", {}) or {})}  # type: ignore[arg-type]
    return run_in_job(image, command, socket=False, network=svc.network, environment=env, files={**svc.files,
                      **dict(kw.pop("files", {}) or {})}, timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def test_service_job_script_publishes_on_the_service_host(job_image: str, dind_service: jobs.DindService) -> None:
    plain = b"""
try:
    dind.Dind("dind-offline:latest", tls=False, reach="published")
except dind.errors.DockerException as e:
    print("plain", "refused" if "insecure_publish" in str(e) else e)
"""
    code, out = service_job(dind_service, job_image, "python3 -W ignore /job/script.py",
                            files={"/job/script.py": SCRIPT + plain})
    assert code == 0, out
    kind, _, host = _lines(out, "reach").partition(" ")
    assert kind == "published" and host.startswith("tcp://docker:"), out
    assert "guarded by mutual TLS" in _lines(out, "why"), out
    assert _lines(out, "ran") == "hi from inside", out
    assert _lines(out, "plain") == "refused", out
    assert dind_service.daemon.client.containers.list(all=True) == [], "the job's daemon was left in the service"


def test_service_job_pytest_fixture_and_dind_run(job_image: str, dind_service: jobs.DindService) -> None:
    code, out = service_job(dind_service, job_image, "cd /job && pytest -q -s -p no:cacheprovider --dind-image "
                            "dind-offline:latest test_in_job.py 2>&1", files={"/job/test_in_job.py": PLUGIN_TEST})
    assert code == 0, out
    assert "REACH published" in out and "1 passed" in out, out
    code, out = service_job(dind_service, job_image, "dind run --load busybox:latest -- docker run --rm busybox echo hi")
    assert (code, out) == (0, "hi\n"), out
    assert dind_service.daemon.client.containers.list(all=True) == []


# -- the fallback, from the host to an engine behind a loopback port -----------------------------------------------
def test_automatic_reach_falls_back_to_the_tunnel_and_an_asked_one_fails_fast(
        dind_service: jobs.DindService, monkeypatch: pytest.MonkeyPatch) -> None:
    # The service answers on this host's 127.0.0.1 (a published port), but the ports *it* publishes are on its own.
    engine = dind_service.daemon.client
    assert engine.base_url.startswith("https://127.0.0.1:")
    with dind.Dind(IMAGE, client=engine) as d:
        assert d.reach.kind == "tunnel", d.reach.reason
        assert "on this host's loopback" in d.reach.reason and "does not answer from here" in d.reach.reason
        d.load_images(["busybox:latest"])
        assert d.client.containers.run("busybox:latest", ["echo", "fell back"], remove=True) == b"fell back\n"
        cli = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                             env={**{k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}, **d.env},
                             timeout=TIMEOUT)
        assert cli.returncode == 0 and cli.stdout.strip(), cli.stderr
    t0 = time.monotonic()
    with pytest.raises(errors.DaemonStartError) as e:
        dind.Dind(IMAGE, client=engine, reach="loopback", start_timeout=120)
    assert time.monotonic() - t0 < 60, "it waited for the start timeout instead of failing fast"
    message = str(e.value)
    assert "does not answer from here" in message and "asked for (reach='loopback')" in message, message
    assert engine.containers.list(all=True) == [], "a daemon was left in the service"


# -- over ssh:// and through a docker context ------------------------------------------------------------------------
def test_client_and_daemon_over_ssh(sshd: jobs.Sshd, monkeypatch: pytest.MonkeyPatch, offline_images: tuple) -> None:
    monkeypatch.setenv("PATH", sshd.env()["PATH"])
    engine = dind.Client(sshd.url)
    assert engine.ping() and engine.info()["ID"] == jobs.outer().info()["ID"]
    box = engine.containers.run("busybox:latest", ["sh", "-c", "echo one; sleep 0.2; echo two"], detach=True,
                                labels={jobs.LABEL: jobs.JOB_LABEL})
    try:
        assert b"".join(box.logs(stream=True, follow=True)) == b"one\ntwo\n"
    finally:
        box.remove(force=True)
    # The sshd fronts this very engine, so a loopback publish would work by accident: the reach must not be one.
    with dind.Dind(IMAGE, client=engine, labels={jobs.LABEL: jobs.JOB_LABEL}) as d:
        assert d.reach.kind == "tunnel" and "ssh" in d.reach.reason, d.reach
        assert not jobs.outer().containers.get(d.id).attrs["HostConfig"].get("PortBindings")
        d.load_images(["busybox:latest"])
        assert d.client.containers.run("busybox:latest", ["echo", "via ssh"], remove=True) == b"via ssh\n"


def test_ssh_that_refuses_names_the_host_and_shows_ssh_s_words(sshd: jobs.Sshd,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", sshd.env()["PATH"])
    port = jobs.free_port()
    with pytest.raises(errors.ConnectionError) as e:
        dind.Client(f"ssh://root@127.0.0.1:{port}").ping()
    message = str(e.value)
    assert f"ssh://root@127.0.0.1:{port}" in message and "Connection refused" in message, message
    assert "ssh exited with status 255" in message, message


def test_a_context_naming_a_remote_engine(sshd: jobs.Sshd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                          offline_images: tuple) -> None:
    env = {**sshd.env(), "DOCKER_CONFIG": str(tmp_path)}
    for k in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        env.pop(k, None)
    for args in (["context", "create", "over-ssh", "--docker", f"host={sshd.url}"], ["context", "use", "over-ssh"]):
        r = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=TIMEOUT)
        assert r.returncode == 0, r.stderr
    for k in list(os.environ):
        if k.startswith("DOCKER_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.setenv("PATH", env["PATH"])
    assert dind.from_env().base_url == sshd.url
    with dind.Dind(IMAGE, labels={jobs.LABEL: jobs.JOB_LABEL}) as d:  # the outer engine from the context
        assert d.reach.kind == "tunnel", d.reach
        assert d.client.ping()
    # DOCKER_HOST still wins over the context.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{jobs.ENGINE_SOCKET}")
    assert dind.from_env().base_url == f"unix://{jobs.ENGINE_SOCKET}"
