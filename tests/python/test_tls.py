"""Mutual TLS against a real TLS engine: one privileged ``dind-offline:latest`` container for the whole module.

The certs are made with the ``openssl`` CLI (EC P-256) and put into the container before it starts, so its entrypoint
only verifies them (the verify-only path of the dind image contract). The server cert's only SAN is IP:127.0.0.1,
so dialling ``localhost`` must fail the host check. The container carries ``dind.session=<SESSION>`` and is removed
with its volumes at the end of the module, also when a test fails.
"""
from __future__ import annotations

import io
import json
import os
import ssl
import subprocess
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator

import pytest

import dind
from dind import errors

SESSION = f"p4-tls-{uuid.uuid4().hex[:12]}"
IMAGE = "dind-offline:latest"
READY_WITHIN = 90.0  # seconds; a privileged dind with brought-in certs answers in ~1.5 s on this machine


# ---- certificates (openssl CLI) ------------------------------------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} in {cwd} failed: {proc.stderr}")


def _make_ca(d: Path, name: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}-key.pem", cwd=d)
    _openssl("req", "-new", "-x509", "-key", f"{name}-key.pem", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _issue(d: Path, ca: str, name: str, cn: str, *exts: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}-key.pem", cwd=d)
    _openssl("req", "-new", "-key", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)
    (d / f"{name}.ext").write_text("\n".join(["keyUsage=critical,digitalSignature", *exts]) + "\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


def _cert_dir(d: Path, ca: str, cert: str) -> Path:
    """A DOCKER_CERT_PATH layout: ca.pem, cert.pem, key.pem."""
    out = d / f"dir-{ca}-{cert}"
    out.mkdir()
    (out / "ca.pem").write_bytes((d / f"{ca}.pem").read_bytes())
    (out / "cert.pem").write_bytes((d / f"{cert}.pem").read_bytes())
    (out / "key.pem").write_bytes((d / f"{cert}-key.pem").read_bytes())
    (out / "key.pem").chmod(0o600)
    return out


@dataclass
class Certs:
    root: Path
    client_dir: Path     # trusts the engine's CA; holds the client cert it accepts
    wrong_ca_dir: Path   # trusts another CA (same client cert)
    server: Dict[str, bytes]

    def tls(self, d: Path) -> Dict[str, object]:
        return {"ca_cert": str(d / "ca.pem"), "client_cert": (str(d / "cert.pem"), str(d / "key.pem")),
                "verify": True}


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    d = tmp_path_factory.mktemp("tls")
    _make_ca(d, "ca")
    _make_ca(d, "otherca")
    _issue(d, "ca", "server", "dind test server", "subjectAltName=IP:127.0.0.1", "extendedKeyUsage=serverAuth")
    _issue(d, "ca", "client", "dind test client", "extendedKeyUsage=clientAuth")
    server = {"ca.pem": (d / "ca.pem").read_bytes(), "cert.pem": (d / "server.pem").read_bytes(),
              "key.pem": (d / "server-key.pem").read_bytes()}
    return Certs(d, _cert_dir(d, "ca", "client"), _cert_dir(d, "otherca", "client"), server)


# ---- the engine ----------------------------------------------------------------------------------------------------

def _server_tar(files: Dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for dirname in ("certs", "certs/server"):
            info = tarfile.TarInfo(dirname)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(f"certs/server/{name}")
            info.size, info.mode = len(data), 0o600 if name == "key.pem" else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass
class Engine:
    container: str
    port: int

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def engine(certs: Certs, offline_images: tuple) -> Iterator[Engine]:
    outer = dind.Client("unix:///var/run/docker.sock")
    body = {
        "Image": IMAGE,
        "Labels": {"dind.session": SESSION},
        "Env": ["DOCKER_TLS_CERTDIR=/certs"],
        "ExposedPorts": {"2376/tcp": {}},
        "HostConfig": {"Privileged": True, "PortBindings": {"2376/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
    }
    _, _, out = outer.request("POST", "/containers/create", query={"name": SESSION}, body=body)
    cid = json.loads(out)["Id"]
    try:
        outer.request("PUT", f"/containers/{cid}/archive", query={"path": "/"}, body=_server_tar(certs.server),
                      headers={"Content-Type": "application/x-tar"})
        outer.request("POST", f"/containers/{cid}/start")
        _, _, out = outer.request("GET", f"/containers/{cid}/json")
        port = int(json.loads(out)["NetworkSettings"]["Ports"]["2376/tcp"][0]["HostPort"])
        eng = Engine(cid, port)
        _wait_ready(outer, eng, certs)
        yield eng
    finally:
        outer.request("DELETE", f"/containers/{cid}", query={"force": "true", "v": "true"})


def _wait_ready(outer: dind.Client, eng: Engine, certs: Certs) -> None:
    """Readiness: running, and a verified mTLS ping answers (the two gates of ARCHITECTURE.md)."""
    deadline = time.monotonic() + READY_WITHIN
    last: Exception = RuntimeError("never tried")
    while time.monotonic() < deadline:
        _, _, out = outer.request("GET", f"/containers/{eng.container}/json")
        state = json.loads(out)["State"]
        if not state["Running"]:
            _, _, logs = outer.request("GET", f"/containers/{eng.container}/logs",
                                       query={"stdout": "1", "stderr": "1", "tail": "30"})
            pytest.fail(f"the TLS dind container exited ({state['ExitCode']}):\n{logs!r}", pytrace=False)
        try:
            if dind.Client(eng.url, tls=certs.tls(certs.client_dir), timeout=5).ping():
                return
        except errors.DockerException as e:
            last = e
        time.sleep(0.1)
    pytest.fail(f"the TLS dind on {eng.url} did not answer within {READY_WITHIN} s: {last}", pytrace=False)


# ---- tests ---------------------------------------------------------------------------------------------------------

def test_mutual_tls_works(engine: Engine, certs: Certs) -> None:
    c = dind.Client(engine.url, tls=certs.tls(certs.client_dir))
    assert c.ping() is True
    v = c.version()
    assert v["ApiVersion"] and v["Os"] == "linux"
    assert c.base_url == f"https://127.0.0.1:{engine.port}"  # docker-py's base_url for TLS
    # https:// means TLS as well.
    assert dind.Client(f"https://127.0.0.1:{engine.port}", tls=certs.tls(certs.client_dir)).ping()


def test_client_reuses_tls_connections(engine: Engine, certs: Certs) -> None:
    c = dind.Client(engine.url, tls=certs.tls(certs.client_dir))
    for _ in range(5):
        c.ping()
    assert c.api.idle_connections == 1


def test_wrong_ca_fails(engine: Engine, certs: Certs) -> None:
    c = dind.Client(engine.url, tls=certs.tls(certs.wrong_ca_dir))
    with pytest.raises(errors.TLSError) as ei:
        c.ping()
    msg = str(ei.value)
    assert f"127.0.0.1:{engine.port}" in msg
    assert "verif" in msg.lower() or "certificate" in msg.lower(), msg


def test_host_not_in_cert_fails(engine: Engine, certs: Certs) -> None:
    # The server cert names only IP:127.0.0.1; "localhost" resolves to the same listener but is not in the cert.
    c = dind.Client(f"tcp://localhost:{engine.port}", tls=certs.tls(certs.client_dir))
    with pytest.raises(errors.TLSError) as ei:
        c.ping()
    msg = str(ei.value)
    assert "localhost" in msg, msg


def test_without_client_cert_is_refused(engine: Engine, certs: Certs) -> None:
    # The engine runs --tlsverify: a client without a cert is turned away. With TLS 1.3 this shows up on the first
    # read rather than in the handshake; either way it is a TLS failure named as such.
    c = dind.Client(engine.url, tls={"ca_cert": str(certs.client_dir / "ca.pem"), "verify": True})
    with pytest.raises((errors.TLSError, errors.ConnectionError)) as ei:
        c.ping()
    assert f"127.0.0.1:{engine.port}" in str(ei.value)


def test_plain_http_to_tls_port(engine: Engine) -> None:
    c = dind.Client(engine.url)  # no TLS settings: plain HTTP to the TLS port
    with pytest.raises((errors.TLSError, errors.ConnectionError)) as ei:
        c.ping()
    msg = str(ei.value)
    assert f"127.0.0.1:{engine.port}" in msg
    assert "TLS" in msg or "HTTPS" in msg, msg


def test_env_ca_bundles_change_nothing(engine: Engine, certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    system_bundle = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(var, system_bundle)
    monkeypatch.setenv("SSL_CERT_DIR", "/etc/ssl/certs")
    # Override: the explicit CA still wins.
    assert dind.Client(engine.url, tls=certs.tls(certs.client_dir)).ping()
    # Add: pointing the environment at the engine's real CA must not rescue a client given the wrong CA.
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.setenv(var, str(certs.client_dir / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(certs.client_dir))
    with pytest.raises(errors.TLSError):
        dind.Client(engine.url, tls=certs.tls(certs.wrong_ca_dir)).ping()


def _docker_env(engine: Engine, cert_dir: Path) -> Dict[str, str]:
    return {"DOCKER_HOST": engine.url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_dir)}


def test_from_env(engine: Engine, certs: Certs, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in _docker_env(engine, certs.client_dir).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("DOCKER_API_VERSION", raising=False)
    c = dind.from_env()
    assert c.base_url == f"https://127.0.0.1:{engine.port}"
    assert c.ping()
    assert c.info()["ID"]
    # DOCKER_TLS_VERIFY non-empty means verify, even "0" (the docker CLI's rule): the wrong CA still fails.
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "0")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(certs.wrong_ca_dir))
    with pytest.raises(errors.TLSError):
        dind.from_env().ping()


def test_docker_cli_with_the_same_env(engine: Engine, certs: Certs) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(_docker_env(engine, certs.client_dir))
    proc = subprocess.run(["docker", "version", "--format", "{{.Server.APIVersion}}"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    ours = dind.Client(engine.url, tls=certs.tls(certs.client_dir)).version()["ApiVersion"]
    assert proc.stdout.strip() == ours
    # And the CLI refuses the wrong CA as we do.
    env.update(_docker_env(engine, certs.wrong_ca_dir))
    bad = subprocess.run(["docker", "version"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0
