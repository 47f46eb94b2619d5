"""Waits for containers of a nested dind daemon (Container.wait_for, containers.run(wait=...)), against the real
engine: a log line, a port and an HTTP answer that come late, a healthcheck, a container that exits first, a timeout;
the port and HTTP waits through the tunnel too, and on a plain client of the machine's engine.
"""
from __future__ import annotations

import os
import time
import uuid
from typing import Iterator

import pytest

import dind
from dind import errors
from helpers import outer, purge

IMAGE = "dind-offline:latest"
BUSYBOX = "busybox:latest"
# A page served late: httpd starts after a second.
HTTPD = ["sh", "-c", "sleep 1; mkdir -p /www; echo hi > /www/index.html; exec httpd -f -p 8080 -h /www"]


@pytest.fixture(scope="module")
def session(offline_images: tuple) -> Iterator[str]:
    sid = f"test-wait-{uuid.uuid4().hex[:10]}"
    old = os.environ.get("DIND_SESSION")
    os.environ["DIND_SESSION"] = sid
    yield sid
    if old is None:
        del os.environ["DIND_SESSION"]
    else:
        os.environ["DIND_SESSION"] = old
    assert purge(sid) == [], "the test left dind containers behind"


def _daemon(reach: str) -> Iterator[dind.Dind]:
    with dind.Dind(IMAGE, reach=reach) as d:
        d.load_images([BUSYBOX])
        yield d


@pytest.fixture(scope="module")
def d(session: str) -> Iterator[dind.Dind]:
    yield from _daemon("auto")


@pytest.fixture(scope="module")
def tunnelled(session: str) -> Iterator[dind.Dind]:
    yield from _daemon("tunnel")


def _left(client: dind.Client) -> list:
    return client.containers.list(all=True)


def test_a_log_line_printed_late_is_awaited(d: dind.Dind) -> None:
    c = d.client.containers.run(BUSYBOX, ["sh", "-c", "sleep 1; echo server is ready; sleep 60"], detach=True,
                                wait={"log": r"is read[y]", "timeout": 30})
    try:
        assert b"server is ready" in c.logs()
    finally:
        c.remove(force=True)


@pytest.mark.parametrize("daemon", ["d", "tunnelled"])
def test_a_port_and_an_http_answer_that_come_late_are_awaited(daemon: str, request: pytest.FixtureRequest) -> None:
    dd: dind.Dind = request.getfixturevalue(daemon)
    c = dd.client.containers.run(BUSYBOX, HTTPD, detach=True, ports={"8080/tcp": None})
    try:
        c.wait_for(port=8080, timeout=30)
        # Open means httpd listens, not that docker-proxy accepted on the published port while sleep still ran.
        assert any("httpd" in " ".join(p) for p in c.top()["Processes"]), c.top()
        c.wait_for(http="/index.html", port=8080, timeout=30)
        c.wait_for(http="/missing", http_port=8080, status=404, timeout=30)
        with pytest.raises(errors.TimeoutError) as e:
            c.wait_for(http="/missing", http_port=8080, timeout=2)
        assert "it answered 404" in str(e.value), e.value
        assert "through an exec" in str(e.value) if daemon == "tunnelled" else "at " in str(e.value)
    finally:
        c.remove(force=True)


def test_a_healthcheck_given_at_create_is_awaited(d: dind.Dind) -> None:
    hc = {"test": ["CMD-SHELL", "test -f /tmp/ok"], "interval": 200_000_000, "retries": 50}
    c = d.client.containers.run(BUSYBOX, ["sh", "-c", "sleep 1; touch /tmp/ok; sleep 60"], detach=True,
                                healthcheck=hc, wait={"healthy": True, "timeout": 30})
    try:
        c.reload()
        assert c.health == "healthy"
    finally:
        c.remove(force=True)


def test_healthy_without_a_healthcheck_and_an_unpublished_port_fail_at_once(d: dind.Dind) -> None:
    c = d.client.containers.run(BUSYBOX, ["sleep", "60"], detach=True)
    try:
        with pytest.raises(errors.DockerException, match="has no healthcheck"):
            c.wait_for(healthy=True, timeout=30)
        with pytest.raises(errors.DockerException, match=r"port 80/tcp .* is not published"):
            c.wait_for(port=80, timeout=30)
    finally:
        c.remove(force=True)


def test_a_container_that_exits_first_fails_fast_with_its_log_tail_and_is_removed(d: dind.Dind) -> None:
    timeout = 60.0
    before = {c.id for c in _left(d.client)}
    t0 = time.monotonic()
    with pytest.raises(errors.ContainerExited) as e:
        d.client.containers.run(BUSYBOX, ["sh", "-c", "echo last words; sleep 0.5; exit 3"], detach=True,
                                wait={"log": "never printed", "timeout": timeout})
    elapsed = time.monotonic() - t0
    assert elapsed < timeout / 4, elapsed
    assert isinstance(e.value, errors.ContainerError)
    assert e.value.exit_status == 3 and "last words" in e.value.log_tail, e.value
    assert "exit code 3" in str(e.value) and "log /never printed/" in str(e.value) and d.host.split("//")[1] in str(e.value)
    assert {c.id for c in _left(d.client)} == before, "run(wait=...) left its container behind"


def test_a_timeout_says_what_was_awaited_on_which_container_and_daemon(d: dind.Dind) -> None:
    c = d.client.containers.run(BUSYBOX, ["sh", "-c", "echo some output; sleep 60"], detach=True, name="waited-on")
    try:
        with pytest.raises(errors.TimeoutError) as e:
            c.wait_for(log="never printed", timeout=1.5)
        msg = str(e.value)
        assert "log /never printed/" in msg and "waited-on" in msg and d.host.split("//")[1] in msg, msg
        assert "within 1500 ms" in msg and "some output" in msg, msg
    finally:
        c.remove(force=True)


def test_run_wait_needs_detach_and_a_dict(d: dind.Dind) -> None:
    before = {c.id for c in _left(d.client)}
    with pytest.raises(errors.InvalidArgument, match="detach=True"):
        d.client.containers.run(BUSYBOX, ["true"], wait={"log": "x"})
    with pytest.raises(errors.InvalidArgument, match="dict"):
        d.client.containers.run(BUSYBOX, ["true"], detach=True, wait="x")
    with pytest.raises(errors.DockerException, match="not a valid regex"):
        d.client.containers.run(BUSYBOX, ["sleep", "60"], detach=True, wait={"log": "("})
    assert {c.id for c in _left(d.client)} == before


def test_a_plain_client_dials_its_engines_host(session: str) -> None:
    c = outer().containers.run(BUSYBOX, HTTPD, detach=True, ports={"8080/tcp": ("127.0.0.1", None)},
                               labels={"dind.session": session})
    try:
        c.wait_for(port=8080, http="/index.html", timeout=30)
    finally:
        c.remove(force=True)
