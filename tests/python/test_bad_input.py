"""Bad input and composite failures, against the real engine: each is refused or reported in words that match the
cause and name what was attempted and where (step, object, daemon, host, file), cut to a readable length, and none
leaves anything behind.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator, List

import pytest

import dind
from dind import errors
from helpers import outer, purge

IMAGE = "dind-offline:latest"


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, offline_images: tuple) -> Iterator[str]:
    sid = f"test-bad-input-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DIND_SESSION", sid)
    yield sid
    assert purge(sid) == [], "the test left dind containers behind"


def _made(session: str) -> List:
    return outer().containers.list(all=True, filters={"label": [f"dind.session={session}"]})


# -- options that are refused before anything is made ---------------------------------------------------------------
def test_an_environment_key_with_an_equals_sign(session: str) -> None:
    with pytest.raises(errors.DockerException) as e:
        dind.Dind(IMAGE, environment={"A=B": "c"})
    assert "\"A=B\"" in str(e.value) and "holds '='" in str(e.value), e.value
    assert _made(session) == []


def test_a_start_timeout_that_is_not_positive(session: str) -> None:
    with pytest.raises(errors.DockerException) as e:
        dind.Dind(IMAGE, start_timeout=-5)
    assert "start timeout must be positive" in str(e.value), e.value
    assert _made(session) == []


def test_a_bind_source_that_does_not_exist_is_refused_not_created(session: str) -> None:
    missing = f"/nonexistent-{uuid.uuid4().hex[:8]}/x"
    with pytest.raises(errors.DaemonStartError) as e:
        dind.Dind(IMAGE, mounts=[f"{missing}:/x"])
    assert missing in str(e.value) and "does not exist" in str(e.value), e.value
    assert not os.path.exists(os.path.dirname(missing)), "the engine created the missing bind source"
    assert _made(session) == []


def test_a_network_that_does_not_exist_is_named_as_such(session: str) -> None:
    with pytest.raises(errors.DaemonStartError) as e:
        dind.Dind(IMAGE, network="no-such-net")
    message = str(e.value)
    assert "no-such-net" in message and "no such network" in message, message
    assert "privileged" not in message, "the hint must match the cause"
    assert _made(session) == []


# -- the engine's address --------------------------------------------------------------------------------------------
def test_a_unix_host_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(errors.ConnectionError) as e:
        dind.Client(f"unix://{tmp_path}").ping()
    assert f"{tmp_path} is a directory, not a socket" in str(e.value), e.value


def test_https_without_certs_names_the_host_and_docker_cert_path() -> None:
    with pytest.raises(errors.TLSError) as e:
        dind.Client("https://127.0.0.1:1").ping()
    message = str(e.value)
    assert "https://127.0.0.1:1" in message and "DOCKER_CERT_PATH" in message and "no CA" in message, message


def test_a_very_long_host_gives_a_short_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://" + "h" * 10000 + ":2375")
    with pytest.raises(errors.DockerException) as e:
        dind.from_env()
    assert len(str(e.value)) < 1000, len(str(e.value))
    assert "DOCKER_HOST" in str(e.value)


def test_a_corrupt_key_says_what_is_wrong_with_the_file(tmp_path: Path) -> None:
    subprocess_ok = os.system(f"openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                              f"-subj /CN=x -keyout {tmp_path}/key.pem -out {tmp_path}/cert.pem >/dev/null 2>&1")
    assert subprocess_ok == 0
    (tmp_path / "ca.pem").write_bytes((tmp_path / "cert.pem").read_bytes())
    key = (tmp_path / "key.pem").read_text().splitlines()
    (tmp_path / "key.pem").write_text("\n".join(key[:1] + key[2:]) + "\n")  # a line of its body gone
    tls = {"ca_cert": str(tmp_path / "ca.pem"), "client_cert": (str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))}
    with pytest.raises(errors.TLSError) as e:
        dind.Client("https://127.0.0.1:1", tls=tls).ping()
    message = str(e.value)
    assert str(tmp_path / "key.pem") in message and "unknown OpenSSL error" not in message, message
    (tmp_path / "key.pem").write_text("not a key at all\n")
    with pytest.raises(errors.TLSError) as e:
        dind.Client("https://127.0.0.1:1", tls=tls).ping()
    assert "not PEM" in str(e.value), e.value


# -- composite operations whose daemon dies meanwhile -----------------------------------------------------------------
def test_a_daemon_killed_during_load_images_is_named_with_the_step(session: str) -> None:
    d = dind.Dind(IMAGE)
    try:
        killer = threading.Timer(0.5, lambda: outer().containers.get(d.id).kill())
        killer.start()
        with pytest.raises(errors.DockerException) as e:
            d.load_images([IMAGE])  # ~460 MB: still moving when the kill comes
        killer.join()
        message = str(e.value)
        assert f"loading {IMAGE}" in message and d.name in message and "into dind daemon" in message, message
    finally:
        d.close()


def test_the_exit_code_lookup_after_a_streamed_exec_names_the_call(session: str) -> None:
    d = dind.Dind(IMAGE)
    try:
        d.load_images(["busybox:latest"])
        c = d.client.containers.run("busybox:latest", ["sleep", "60"], detach=True)
        result = c.exec_run(["sh", "-c", "echo started; sleep 30"], stream=True)
        assert next(iter(result.output)) == b"started\n"
        outer().containers.get(d.id).kill()
        with pytest.raises(errors.DockerException) as e:
            for _ in result.output:  # the stream ends with its daemon; its exit code is looked up at the end
                pass
            _ = result.exit_code
        message = str(e.value)
        assert "exit code of exec" in message and "GET /exec/" in message and d.host.split("//")[-1] in message, \
            message
    finally:
        d.close()


def test_a_container_removed_while_listing_is_explained(session: str) -> None:
    client = outer()
    label = {"dind.test": session}
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            client.containers.run("busybox:latest", ["true"], remove=True, labels=label)

    threads = [threading.Thread(target=churn) for _ in range(2)]
    for t in threads:
        t.start()
    seen = None
    try:
        deadline = time.monotonic() + 120
        while seen is None and time.monotonic() < deadline:
            try:
                client.containers.list(all=True, filters={"label": [f"dind.test={session}"]})
            except errors.NotFound as e:
                seen = e
            assert client.containers.list(all=True, filters={"label": [f"dind.test={session}"]},
                                          ignore_removed=True) is not None
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert seen is not None, "no container was removed between the list and its inspect in 120 s"
    message = str(seen)
    assert "was removed while the containers were listed" in message and "ignore_removed=True" in message, message
