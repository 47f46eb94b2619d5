"""The first slice of the Python client (ping, version, info, errors, threads) against the real engine."""
from __future__ import annotations

import threading

import pytest

import dind
from dind import errors

SOCK = "unix:///var/run/docker.sock"


def test_ping_and_version() -> None:
    client = dind.Client(SOCK)
    assert client.ping() is True
    version = client.version()
    assert "ApiVersion" in version and "Version" in version
    assert client.api_version in {version["ApiVersion"], "1.43"}
    assert "ID" in client.info()


def test_from_env_uses_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", SOCK)
    monkeypatch.setenv("DOCKER_API_VERSION", "1.40")
    client = dind.from_env()
    assert client.ping()
    assert client.api_version == "1.40"
    assert client.base_url == SOCK


def test_absent_socket_raises_connection_error_naming_the_path() -> None:
    client = dind.Client("unix:///tmp/dind-h2-absent.sock")
    with pytest.raises(errors.ConnectionError, match="/tmp/dind-h2-absent.sock"):
        client.ping()


def test_not_found_is_typed_and_named() -> None:
    client = dind.Client(SOCK)
    with pytest.raises(errors.NotFound) as info:
        client.api.request("GET", "/containers/dind-h2-no-such-container/json")
    err = info.value
    assert isinstance(err, errors.APIError)
    assert err.status_code == 404
    assert "No such container" in err.explanation
    assert "GET /containers/dind-h2-no-such-container/json" in str(err)
    assert SOCK in str(err)


def test_low_level_request() -> None:
    client = dind.Client(SOCK)
    status, headers, body = client.api.request("GET", "/containers/json", {"all": True, "limit": 1})
    assert status == 200
    assert headers.get("Content-Type", "").startswith("application/json")
    assert body.startswith(b"[")


def test_invalid_host_names_the_value() -> None:
    with pytest.raises(errors.DockerException, match="npipe:////./pipe/docker_engine"):
        dind.Client("npipe:////./pipe/docker_engine")


def test_missing_tls_file_raises_tls_error_naming_it() -> None:
    with pytest.raises(errors.TLSError, match="/tmp/dind-h2-no-ca.pem"):
        dind.Client("tcp://127.0.0.1:2376", tls={"ca_cert": "/tmp/dind-h2-no-ca.pem"})


def test_four_threads_ping_concurrently() -> None:
    client = dind.Client(SOCK)
    results: list = []
    failures: list = []

    def work() -> None:
        try:
            for _ in range(100):
                results.append(client.ping())
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert results == [True] * 400
