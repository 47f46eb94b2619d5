"""Every failure a CI script meets gets its own clear error, naming what was attempted and where.

The TLS cases that need a TLS engine (wrong CA, host not in the cert, plain HTTP to a TLS port) are in test_tls.py;
here are the rest, with a plain-HTTP dind container (one per test that needs it, ``dind.session=<SESSION>``, removed
with its volumes) for "TLS spoken to a plain HTTP port" and "daemon gone mid-stream".
"""
from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

import dind
from dind import errors

SESSION = f"p4-err-{uuid.uuid4().hex[:12]}"
LABELS = {"dind.session": SESSION}
IMAGE = "dind-offline:latest"
READY_WITHIN = 90.0


@pytest.fixture(scope="module")
def client() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


def free_port() -> int:
    """A 127.0.0.1 port nobody listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- transport ---------------------------------------------------------------------------------------------------

def test_socket_missing(tmp_path: Path) -> None:
    path = tmp_path / "no-such-docker.sock"
    with pytest.raises(errors.ConnectionError) as ei:
        dind.Client(f"unix://{path}").ping()
    assert str(path) in str(ei.value)


def test_socket_file_without_listener(tmp_path: Path) -> None:
    # A stale socket file (the daemon died): connection refused on the path.
    path = tmp_path / "stale.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()
    with pytest.raises(errors.ConnectionError) as ei:
        dind.Client(f"unix://{path}").ping()
    assert str(path) in str(ei.value)


def test_connection_refused() -> None:
    port = free_port()
    with pytest.raises(errors.ConnectionError) as ei:
        dind.Client(f"tcp://127.0.0.1:{port}", timeout=10).version()
    assert f"127.0.0.1:{port}" in str(ei.value)


@pytest.mark.parametrize("bad", ["ftp://127.0.0.1:2375", "tcp://127.0.0.1:notaport", "tcp://", "unix://",
                                 "127.0.0.1:99999"])
def test_invalid_docker_host(bad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", bad)
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    with pytest.raises(errors.DockerException) as ei:
        dind.from_env().ping()
    assert bad in str(ei.value)
    assert not isinstance(ei.value, errors.APIError)
    with pytest.raises(errors.DockerException) as ei2:
        dind.Client(bad).ping()
    assert bad in str(ei2.value)


# ---- TLS configuration -------------------------------------------------------------------------------------------

def test_missing_cert_files(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "ca.pem"
    with pytest.raises(errors.TLSError) as ei:
        dind.Client("tcp://127.0.0.1:2376", tls={"ca_cert": str(missing), "verify": True})
    assert str(missing) in str(ei.value)

    (tmp_path / "ca.pem").write_text("not a certificate\n")
    cert = tmp_path / "no-cert.pem"
    key = tmp_path / "no-key.pem"
    with pytest.raises(errors.TLSError) as ei:
        dind.Client("tcp://127.0.0.1:2376", tls={"ca_cert": str(tmp_path / "ca.pem"), "client_cert": (str(cert),
                                                                                                       str(key))})
    assert str(cert) in str(ei.value) or str(key) in str(ei.value)


def test_unreadable_cert_files(tmp_path: Path) -> None:
    # Tests run as root, so permission bits do not stop reads: a directory where the file should be is unreadable.
    as_dir = tmp_path / "ca.pem"
    as_dir.mkdir()
    with pytest.raises(errors.TLSError) as ei:
        dind.Client("tcp://127.0.0.1:2376", tls={"ca_cert": str(as_dir), "verify": True})
    assert str(as_dir) in str(ei.value)


def test_garbage_cert_files(tmp_path: Path) -> None:
    ca = tmp_path / "garbage-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n")
    with pytest.raises(errors.TLSError) as ei:
        dind.Client("tcp://127.0.0.1:2376", tls={"ca_cert": str(ca), "verify": True}).ping()
    assert str(ca) in str(ei.value)


def test_cert_path_env_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2376")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
    with pytest.raises(errors.TLSError) as ei:
        dind.from_env()
    assert str(tmp_path) in str(ei.value)


# ---- API errors ----------------------------------------------------------------------------------------------------

def _containers(client: dind.Client) -> Any:
    coll = getattr(client, "containers", None)
    if coll is None:
        from dind.models.containers import ContainerCollection  # P1's collection

        coll = ContainerCollection(client)
    return coll


def _images(client: dind.Client) -> Any:
    coll = getattr(client, "images", None)
    if coll is None:
        from dind.models.images import ImageCollection  # P3's collection

        coll = ImageCollection(client)
    return coll


def test_unknown_container(client: dind.Client) -> None:
    name = f"{SESSION}-absent"
    with pytest.raises(errors.NotFound) as ei:
        client.request("GET", f"/containers/{name}/json")
    e = ei.value
    assert e.status_code == 404 and name in e.explanation
    assert f"GET /containers/{name}/json" in str(e) or f"/containers/{name}/json" in str(e)
    assert "unix:///var/run/docker.sock" in str(e)
    with pytest.raises(errors.NotFound):
        _containers(client).get(name)


def test_unknown_image(client: dind.Client) -> None:
    name = f"{SESSION}-absent:latest"
    with pytest.raises(errors.ImageNotFound) as ei:
        _images(client).get(name)
    assert ei.value.status_code == 404
    assert isinstance(ei.value, errors.NotFound)
    assert SESSION in str(ei.value)


def test_name_conflict(client: dind.Client) -> None:
    name = f"{SESSION}-dup"
    body = {"Image": "busybox:latest", "Cmd": ["true"], "Labels": LABELS}
    _, _, out = client.request("POST", "/containers/create", query={"name": name}, body=body)
    cid = json.loads(out)["Id"]
    try:
        with pytest.raises(errors.Conflict) as ei:
            client.request("POST", "/containers/create", query={"name": name}, body=body)
        assert ei.value.status_code == 409
        assert name in str(ei.value) and "POST /containers/create" in str(ei.value)
        with pytest.raises(errors.Conflict):
            _containers(client).create("busybox:latest", ["true"], name=name, labels=LABELS)
    finally:
        client.request("DELETE", f"/containers/{cid}", query={"force": "true", "v": "true"})


# ---- a plain-HTTP dind engine: TLS to a plain port, and the daemon gone mid-stream -------------------------------

class PlainEngine:
    def __init__(self, outer: dind.Client, cid: str, port: int) -> None:
        self.outer, self.container, self.port = outer, cid, port

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


def _start_plain_engine(outer: dind.Client, name: str) -> PlainEngine:
    body = {
        "Image": IMAGE,
        "Cmd": ["--tls=false"],
        "Labels": LABELS,
        "Env": ["DOCKER_TLS_CERTDIR="],
        "ExposedPorts": {"2375/tcp": {}},
        "HostConfig": {"Privileged": True, "PortBindings": {"2375/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
    }
    _, _, out = outer.request("POST", "/containers/create", query={"name": name}, body=body)
    cid = json.loads(out)["Id"]
    try:
        outer.request("POST", f"/containers/{cid}/start")
        _, _, out = outer.request("GET", f"/containers/{cid}/json")
        eng = PlainEngine(outer, cid, int(json.loads(out)["NetworkSettings"]["Ports"]["2375/tcp"][0]["HostPort"]))
        deadline = time.monotonic() + READY_WITHIN
        last: Exception = RuntimeError("never tried")
        while time.monotonic() < deadline:
            _, _, out = outer.request("GET", f"/containers/{cid}/json")
            if not json.loads(out)["State"]["Running"]:
                _, _, logs = outer.request("GET", f"/containers/{cid}/logs",
                                           query={"stdout": "1", "stderr": "1", "tail": "30"})
                pytest.fail(f"plain dind {name} exited:\n{logs!r}", pytrace=False)
            try:
                if dind.Client(eng.url, timeout=5).ping():
                    return eng
            except errors.DockerException as e:
                last = e
            time.sleep(0.1)
        pytest.fail(f"plain dind on {eng.url} did not answer within {READY_WITHIN} s: {last}", pytrace=False)
    except BaseException:
        outer.request("DELETE", f"/containers/{cid}", query={"force": "true", "v": "true"})
        raise


@pytest.fixture
def plain_engine(client: dind.Client, offline_images: tuple) -> Iterator[PlainEngine]:
    # One per test: the mid-stream test kills its engine, and test order must not matter.
    eng = _start_plain_engine(client, f"{SESSION}-plain-{uuid.uuid4().hex[:6]}")
    try:
        yield eng
    finally:
        try:
            client.request("DELETE", f"/containers/{eng.container}", query={"force": "true", "v": "true"})
        except errors.NotFound:
            pass  # the mid-stream test already removed it


def test_tls_to_plain_http_port(plain_engine: PlainEngine, tmp_path: Path) -> None:
    assert dind.Client(plain_engine.url).ping()  # the port does speak plain HTTP
    c = dind.Client(f"https://127.0.0.1:{plain_engine.port}", tls=True, timeout=10)  # TLS, no verification
    with pytest.raises((errors.TLSError, errors.ConnectionError)) as ei:
        c.ping()
    msg = str(ei.value)
    assert f"127.0.0.1:{plain_engine.port}" in msg
    assert "TLS" in msg or "HTTP" in msg, msg


def _events(c: dind.Client, filters: Dict[str, List[str]]) -> Iterator[Dict[str, Any]]:
    """The events stream as decoded dicts: P2's client.events() / models.streams.client_events."""
    if hasattr(c, "events"):
        return iter(c.events(filters=filters, decode=True))
    from dind.models.streams import client_events  # P2

    return iter(client_events(c, filters=filters, decode=True))


def test_daemon_gone_mid_stream(client: dind.Client, plain_engine: PlainEngine) -> None:
    inner = dind.Client(plain_engine.url)
    result: Dict[str, Any] = {"events": []}

    def consume() -> None:
        try:
            for ev in _events(inner, {"type": ["volume"]}):
                result["events"].append(ev)
            result["ended"] = True  # a clean end would hide the daemon's death
        except BaseException as e:  # noqa: BLE001 - reported below
            result["error"] = e

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    # Make events until the stream shows one (it may subscribe a little after the thread starts).
    deadline = time.monotonic() + 30
    n = 0
    while not result["events"] and "error" not in result and time.monotonic() < deadline:
        inner.api.request("POST", "/volumes/create", body={"Name": f"mid-stream-{n}"})
        n += 1
        time.sleep(0.2)
    assert result["events"], f"no event arrived from {plain_engine.url}: {result}"
    # The daemon goes away: kill its container (and its published port with it).
    client.request("DELETE", f"/containers/{plain_engine.container}", query={"force": "true", "v": "true"})
    t.join(30)
    assert not t.is_alive(), "the events iterator hung after the daemon was killed"
    err: Optional[BaseException] = result.get("error")
    assert isinstance(err, (errors.StreamError, errors.ConnectionError)), result
    assert f"127.0.0.1:{plain_engine.port}" in str(err), str(err)
