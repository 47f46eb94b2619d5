"""Security properties, each a test against the real engine and the offline dind image.

1. A daemon's TLS port refuses a client without a cert, with a cert from another CA, and with an expired cert signed
   by the right CA: the project client, ``curl`` and ``openssl s_client`` are turned away, and dockerd's own log
   names the reason.
2. The client refuses a server whose cert is from another CA, or does not name the address dialled, even with
   ``SSL_CERT_FILE``/``REQUESTS_CA_BUNDLE``/``SSL_CERT_DIR`` pointing at a bundle that holds the server's CA.
3. Published ports bind to 127.0.0.1 only, and are not reachable on this machine's other addresses.
4. Private keys are never world-readable and are removed at teardown (also after a failed start); no key material
   and no ``X-Registry-Auth`` value appears in a log line, an error message, a ``repr()`` or the CLI's output.
5. Plain TCP without TLS only when asked for, and then with a warning (``InsecureWarning``; a stderr line in the CLI).

A ``dind.Dind`` destroys its CA key once the certs are signed, so no test can sign anything with a real daemon's CA:
the expired-cert check runs against a container of the same image started the way ``Dind`` starts it (server certs
put in before start, the entrypoint's verify-only path) with certs made here by the ``openssl`` CLI.
Everything made on the engine carries ``dind.session`` and ``dind.test=<SESSION>`` and is removed at the end.
"""
from __future__ import annotations

import base64
import datetime
import fcntl
import inspect
import io
import json
import logging
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tarfile
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence

import pytest

import dind
from dind import errors
from dind.errors import InsecureWarning
from helpers import exports as _exports, remove_containers

SESSION = f"sec-{uuid.uuid4().hex[:12]}"
TEST_LABEL = {"dind.test": SESSION}
IMAGE = "dind-offline:latest"
READY_WITHIN = 90.0  # seconds; a privileged dind with brought-in certs answers in ~1.5 s on this machine
CLI = [sys.executable, "-m", "dind"]
CLI_TIMEOUT = 180


def outer() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


def _ours() -> List[object]:
    return outer().containers.list(all=True, filters={"label": [f"dind.test={SESSION}"]})


def _case() -> Dict[str, str]:
    """Labels for one test's own daemons: the module's, plus one that tells them apart from the shared ones."""
    return {**TEST_LABEL, "dind.test-case": uuid.uuid4().hex[:12]}


def _made_with(labels: Dict[str, str]) -> List[object]:
    return outer().containers.list(all=True, filters={"label": [f"dind.test-case={labels['dind.test-case']}"]})


def _purge() -> List[str]:
    """Removes (force, with volumes) what this module made, and the cert dirs they name; returns their names."""
    return remove_containers(_ours())


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind(offline_images: tuple) -> Iterator[None]:
    yield
    left = _purge()
    assert not left, f"the security tests left containers behind: {left}"


# ---- certificates (openssl CLI) ------------------------------------------------------------------------------------

def _openssl(*args: str, cwd: Path) -> str:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} in {cwd} failed: {proc.stderr}")
    return proc.stdout


def _make_ca(d: Path, name: str, cn: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}-key.pem", cwd=d)
    _openssl("req", "-new", "-x509", "-key", f"{name}-key.pem", "-out", f"{name}.pem", "-days", "2", "-subj",
             f"/CN={cn}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign", cwd=d)


def _csr(d: Path, name: str, cn: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}-key.pem", cwd=d)
    _openssl("req", "-new", "-key", f"{name}-key.pem", "-out", f"{name}.csr", "-subj", f"/CN={cn}", cwd=d)


def _issue(d: Path, ca: str, name: str, cn: str, *exts: str) -> None:
    """A leaf valid from now for 2 days."""
    _csr(d, name, cn)
    (d / f"{name}.ext").write_text("\n".join(["keyUsage=critical,digitalSignature", *exts]) + "\n")
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
             "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


def _issue_expired(d: Path, ca: str, name: str, cn: str) -> None:
    """A client cert signed by `ca` that was valid from 3 days ago until yesterday (``openssl ca`` takes dates)."""
    _csr(d, name, cn)
    (d / "ca.cnf").write_text(
        "[ca]\ndefault_ca = dind_test\n"
        "[dind_test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial.txt\ndefault_md = sha256\n"
        "policy = any\nunique_subject = no\ncopy_extensions = none\n"
        "[any]\ncommonName = supplied\n"
        "[leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n"
        "extendedKeyUsage = clientAuth\n")
    (d / "index.txt").write_text("")
    (d / "serial.txt").write_text("1000\n")
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = "%Y%m%d%H%M%SZ"
    _openssl("ca", "-batch", "-config", "ca.cnf", "-cert", f"{ca}.pem", "-keyfile", f"{ca}-key.pem", "-in",
             f"{name}.csr", "-out", f"{name}.pem", "-notext", "-extensions", "leaf",
             "-startdate", (now - datetime.timedelta(days=3)).strftime(fmt),
             "-enddate", (now - datetime.timedelta(days=1)).strftime(fmt), cwd=d)


@dataclass
class Pki:
    root: Path

    def path(self, name: str) -> str:
        return str(self.root / name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("security-pki")
    # Another CA with the very subject a Dind's CA has ("dind CA"): trust must come from the signature, not the name.
    _make_ca(d, "otherca", "dind CA")
    _issue(d, "otherca", "other-client", "dind client", "extendedKeyUsage=clientAuth")
    # The hand-made engine's CA, its server cert (SAN IP:127.0.0.1), a valid and an expired client cert.
    _make_ca(d, "engineca", "dind security engine CA")
    _issue(d, "engineca", "engine-server", "dind security engine", "subjectAltName=IP:127.0.0.1",
           "extendedKeyUsage=serverAuth")
    _issue(d, "engineca", "engine-client", "dind client", "extendedKeyUsage=clientAuth")
    _issue_expired(d, "engineca", "expired-client", "dind client")
    for key in d.glob("*-key.pem"):
        key.chmod(0o600)
    return Pki(d)


# ---- the daemons ---------------------------------------------------------------------------------------------------

@dataclass
class Daemon:
    d: dind.Dind
    warned: List[warnings.WarningMessage]  # warnings seen while it started

    @property
    def port(self) -> int:
        return int(self.d.host.rsplit(":", 1)[1])

    def cert(self, name: str) -> str:
        return os.path.join(self.d.cert_path, name)

    def tls(self) -> Dict[str, object]:
        return {"ca_cert": self.cert("ca.pem"), "client_cert": (self.cert("cert.pem"), self.cert("key.pem")),
                "verify": True}


@pytest.fixture(scope="module")
def daemon(offline_images: tuple) -> Iterator[Daemon]:
    """A real dind.Dind with the defaults (TLS on), shared by the read-mostly tests of this module."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        d = dind.Dind(IMAGE, labels=TEST_LABEL)
    try:
        d.load_images(["busybox:latest"])
        yield Daemon(d, list(seen))
    finally:
        d.close()


@dataclass
class Engine:
    """A TLS dockerd in the dind image with certs made here (so that we hold its CA key)."""
    container: str
    port: int

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def logs(self) -> str:
        _, _, out = outer().request("GET", f"/containers/{self.container}/logs",
                                    query={"stdout": "1", "stderr": "1", "tail": "5000"})
        return out.decode(errors="replace")


def _server_tar(files: Dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for dirname, mode in (("certs", 0o755), ("certs/server", 0o700)):
            info = tarfile.TarInfo(dirname)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(f"certs/server/{name}")
            info.size, info.mode = len(data), 0o600 if name == "key.pem" else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(scope="module")
def engine(pki: Pki, offline_images: tuple) -> Iterator[Engine]:
    client = outer()
    body = {
        "Image": IMAGE,
        "Labels": {"dind.session": SESSION, **TEST_LABEL},
        "Env": ["DOCKER_TLS_CERTDIR=/certs"],
        "ExposedPorts": {"2376/tcp": {}},
        "HostConfig": {"Privileged": True, "PortBindings": {"2376/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}},
    }
    _, _, out = client.request("POST", "/containers/create", query={"name": f"{SESSION}-engine"}, body=body)
    cid = json.loads(out)["Id"]
    try:
        files = {"ca.pem": Path(pki.path("engineca.pem")).read_bytes(),
                 "cert.pem": Path(pki.path("engine-server.pem")).read_bytes(),
                 "key.pem": Path(pki.path("engine-server-key.pem")).read_bytes()}
        client.request("PUT", f"/containers/{cid}/archive", query={"path": "/"}, body=_server_tar(files),
                       headers={"Content-Type": "application/x-tar"})
        client.request("POST", f"/containers/{cid}/start")
        _, _, out = client.request("GET", f"/containers/{cid}/json")
        eng = Engine(cid, int(json.loads(out)["NetworkSettings"]["Ports"]["2376/tcp"][0]["HostPort"]))
        tls = _tls(pki.path("engineca.pem"), pki.path("engine-client.pem"), pki.path("engine-client-key.pem"))
        deadline = time.monotonic() + READY_WITHIN
        last: Exception = RuntimeError("never tried")
        while True:
            _, _, out = client.request("GET", f"/containers/{cid}/json")
            if not json.loads(out)["State"]["Running"]:
                pytest.fail(f"the TLS engine container exited:\n{Engine(cid, 0).logs()[-3000:]}", pytrace=False)
            try:
                if dind.Client(eng.url, tls=tls, timeout=5).ping():
                    break
            except errors.DockerException as e:
                last = e
            if time.monotonic() > deadline:
                pytest.fail(f"the TLS engine on {eng.url} did not answer within {READY_WITHIN} s: {last}",
                            pytrace=False)
            time.sleep(0.1)
        yield eng
    finally:
        client.request("DELETE", f"/containers/{cid}", query={"force": "true", "v": "true"})


def _tls(ca: str, cert: Optional[str] = None, key: Optional[str] = None) -> Dict[str, object]:
    out: Dict[str, object] = {"ca_cert": ca, "verify": True}
    if cert:
        out["client_cert"] = (cert, key)
    return out


# ---- outside clients: curl and openssl s_client --------------------------------------------------------------------

def _curl(port: int, ca: str, cert: Optional[str] = None, key: Optional[str] = None) -> subprocess.CompletedProcess:
    args = ["curl", "-sS", "--max-time", "30", "--cacert", ca]
    if cert:
        args += ["--cert", cert, "--key", key or ""]
    return subprocess.run([*args, f"https://127.0.0.1:{port}/_ping"], capture_output=True, text=True, timeout=60)


def _s_client(port: int, ca: str, cert: Optional[str] = None, key: Optional[str] = None) -> subprocess.CompletedProcess:
    """An HTTP request over `openssl s_client`; it verifies the server (-verify_return_error), so a failure after the
    handshake is the server's doing."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", ca, "-verify_return_error", "-quiet",
            "-ign_eof"]
    if cert:
        args += ["-cert", cert, "-key", key or ""]
    return subprocess.run(args, input="GET /_ping HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", capture_output=True,
                          text=True, timeout=60)


def _handshake_errors(logs: str, reason: str) -> int:
    """dockerd (Go's net/http) logs each refused client: 'http: TLS handshake error from ADDR: tls: REASON'."""
    return sum(1 for line in logs.splitlines() if "TLS handshake error" in line and reason in line)


def _wait_for_refusals(read_logs, reason: str, before: int, at_least: int) -> int:
    deadline = time.monotonic() + 20
    while True:
        n = _handshake_errors(read_logs(), reason) - before
        if n >= at_least or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


def _assert_refused(port: int, ca: str, cert: Optional[str], key: Optional[str], read_logs, reason: str) -> None:
    """The project client, curl and openssl s_client with this cert (or none) are refused by the daemon, which logs
    `reason` for each."""
    before = _handshake_errors(read_logs(), reason)
    with pytest.raises((errors.TLSError, errors.ConnectionError)) as ei:
        dind.Client(f"tcp://127.0.0.1:{port}", tls=_tls(ca, cert, key), timeout=20).ping()
    assert f"127.0.0.1:{port}" in str(ei.value)

    curl = _curl(port, ca, cert, key)
    assert curl.returncode != 0 and "OK" not in curl.stdout, (curl.returncode, curl.stdout, curl.stderr)
    # The server's TLS alert (or its reset), not a client-side failure; dockerd's log below names the reason.
    assert "alert" in curl.stderr or "reset" in curl.stderr, curl.stderr

    s = _s_client(port, ca, cert, key)
    assert "HTTP/" not in s.stdout, s.stdout
    assert ("alert" in s.stderr or "reset" in s.stderr) and "verify error" not in s.stderr, s.stderr

    refused = _wait_for_refusals(read_logs, reason, before, 3)
    assert refused >= 3, f"dockerd logged {refused} refusals with '{reason}' for 3 refused clients"


def _assert_accepted(port: int, ca: str, cert: str, key: str) -> None:
    """The positive control: the same tools with the right cert get in."""
    assert dind.Client(f"tcp://127.0.0.1:{port}", tls=_tls(ca, cert, key), timeout=20).ping()
    curl = _curl(port, ca, cert, key)
    assert curl.returncode == 0 and curl.stdout == "OK", curl.stderr
    s = _s_client(port, ca, cert, key)
    assert "HTTP/1.0 200 OK" in s.stdout, s.stderr


# ==== 1. the daemon's TLS port refuses ==============================================================================

def test_daemon_refuses_a_client_without_a_cert(daemon: Daemon) -> None:
    _assert_accepted(daemon.port, daemon.cert("ca.pem"), daemon.cert("cert.pem"), daemon.cert("key.pem"))
    _assert_refused(daemon.port, daemon.cert("ca.pem"), None, None, lambda: daemon.d.logs(tail=5000),
                    "client didn't provide a certificate")


def test_daemon_refuses_a_cert_from_another_ca(daemon: Daemon, pki: Pki) -> None:
    # Same subject names as the daemon's own CA and client cert; only the signature differs.
    _assert_refused(daemon.port, daemon.cert("ca.pem"), pki.path("other-client.pem"), pki.path("other-client-key.pem"),
                    lambda: daemon.d.logs(tail=5000), "certificate signed by unknown authority")


def test_daemon_refuses_an_expired_cert_from_the_right_ca(engine: Engine, pki: Pki) -> None:
    # The cert is wrong in exactly one way: openssl finds nothing but its expiry.
    check = subprocess.run(["openssl", "verify", "-CAfile", pki.path("engineca.pem"), pki.path("expired-client.pem")],
                           capture_output=True, text=True)
    assert check.returncode != 0 and "certificate has expired" in check.stdout + check.stderr, check
    ca = pki.path("engineca.pem")
    _assert_accepted(engine.port, ca, pki.path("engine-client.pem"), pki.path("engine-client-key.pem"))
    _assert_refused(engine.port, ca, pki.path("expired-client.pem"), pki.path("expired-client-key.pem"), engine.logs,
                    "certificate has expired")


# ==== 2. the client refuses a server it should not trust, whatever the environment says ============================

@pytest.fixture
def env_bundles(daemon: Daemon, pki: Pki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and SSL_CERT_DIR name a bundle with the system CAs, the
    daemon's CA and the engine's CA: a client that consulted them would trust both servers."""
    system = ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt"
    parts = [Path(system).read_text() if os.path.exists(system) else "",
             Path(daemon.cert("ca.pem")).read_text(), Path(pki.path("engineca.pem")).read_text()]
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("\n".join(parts))
    cadir = tmp_path / "cadir"
    cadir.mkdir()
    shutil.copy(daemon.cert("ca.pem"), cadir / "daemon-ca.pem")
    shutil.copy(pki.path("engineca.pem"), cadir / "engine-ca.pem")
    _openssl("rehash", str(cadir), cwd=tmp_path)
    for var in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(var, str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(cadir))
    monkeypatch.delenv("DOCKER_API_VERSION", raising=False)
    return bundle


def _python_ssl_trusts(port: int) -> bool:
    """Whether Python's default context (which reads SSL_CERT_FILE) verifies the server's cert chain and name."""
    ctx = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
            return True


def _from_env(monkeypatch: pytest.MonkeyPatch, host: str, cert_path: str) -> dind.Client:
    monkeypatch.setenv("DOCKER_HOST", host)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", cert_path)
    return dind.from_env(timeout=20)


def test_client_refuses_a_server_from_another_ca_despite_env_bundles(
        daemon: Daemon, engine: Engine, pki: Pki, env_bundles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The control: the environment's bundle does make a default TLS client trust the engine's server cert.
    assert _python_ssl_trusts(engine.port)
    # Our client was given the daemon's CA; the engine's cert comes from another CA, whatever the environment says.
    for client in (dind.Client(engine.url, tls=daemon.tls(), timeout=20),
                   _from_env(monkeypatch, engine.url, daemon.d.cert_path)):
        with pytest.raises(errors.TLSError) as ei:
            client.ping()
        msg = str(ei.value)
        assert f"127.0.0.1:{engine.port}" in msg and "certificate verify failed" in msg, msg
    # And the other way round: the engine's CA does not open the daemon.
    engine_dir = env_bundles.parent / "engine-certs"
    engine_dir.mkdir()
    for src, dst in (("engineca.pem", "ca.pem"), ("engine-client.pem", "cert.pem"),
                     ("engine-client-key.pem", "key.pem")):
        shutil.copy(pki.path(src), engine_dir / dst)
    with pytest.raises(errors.TLSError, match="certificate verify failed"):
        _from_env(monkeypatch, daemon.d.host, str(engine_dir)).ping()
    # The same settings with the right CA work: the refusals above are about the CA alone.
    assert _from_env(monkeypatch, daemon.d.host, daemon.d.cert_path).ping()


def test_client_refuses_an_address_the_cert_does_not_name_despite_env_bundles(
        daemon: Daemon, env_bundles: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The daemon's container address on the engine's bridge reaches the same dockerd, but the server cert names only
    # 127.0.0.1, ::1, localhost, docker and the container name.
    ip = outer().containers.get(daemon.d.id).attrs["NetworkSettings"]["IPAddress"]
    assert ip, "the dind container has no bridge address"
    url = f"tcp://{ip}:2376"
    for client in (dind.Client(url, tls=daemon.tls(), timeout=20), _from_env(monkeypatch, url, daemon.d.cert_path)):
        with pytest.raises(errors.TLSError) as ei:
            client.ping()
        msg = str(ei.value)
        assert ip in msg and "mismatch" in msg, msg
    assert _from_env(monkeypatch, daemon.d.host, daemon.d.cert_path).ping()


# ==== 3. published ports: 127.0.0.1 only ============================================================================

def _host_addresses() -> List[str]:
    """This machine's IPv4 addresses other than loopback (eth0, the docker0 bridge, ...)."""
    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                packed = fcntl.ioctl(s.fileno(), 0x8915, struct.pack("256s", name.encode()[:15]))  # SIOCGIFADDR
            except OSError:
                continue  # no IPv4 address on this interface
        addr = socket.inet_ntoa(packed[20:24])
        if not addr.startswith("127."):
            found.append(addr)
    return found


def _listeners(port: int) -> List[str]:
    """Local addresses (hex, as /proc/net/tcp* show them) of sockets listening on `port` in this network namespace."""
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                addr, hexport = fields[1].rsplit(":", 1)
                if fields[3] == "0A" and int(hexport, 16) == port:
                    out.append(f"{table}:{addr}")
    return out


def _assert_loopback_only(d: dind.Dind, port_key: str, host_port: str = "") -> None:
    attrs = outer().containers.get(d.id).attrs
    assert attrs["HostConfig"]["PortBindings"] == {port_key: [{"HostIp": "127.0.0.1", "HostPort": host_port}]}
    assert not attrs["HostConfig"].get("PublishAllPorts")
    published = {k: v for k, v in (attrs["NetworkSettings"]["Ports"] or {}).items() if v}
    assert list(published) == [port_key], published  # the image EXPOSEs 2375 and 2376; one is published
    bindings = published[port_key]
    assert [b["HostIp"] for b in bindings] == ["127.0.0.1"], bindings  # no 0.0.0.0, no ::
    port = int(bindings[0]["HostPort"])
    assert d.host == f"tcp://127.0.0.1:{port}" and d.env["DOCKER_HOST"] == d.host
    if host_port:
        assert port == int(host_port)
    # What listens on that port listens on loopback only (docker-proxy; none at all without the userland proxy).
    for listener in _listeners(port):
        assert listener.endswith(":0100007F"), f"something listens on port {port} beyond 127.0.0.1: {listener}"
    # And the port is not reachable on this machine's other addresses (dialled only to see it refused).
    for addr in _host_addresses():
        with socket.socket() as s:
            s.settimeout(5)
            try:
                s.connect((addr, port))
            except OSError:
                continue
            pytest.fail(f"the daemon's port {port} answers on {addr}, not only on 127.0.0.1")


def test_published_port_is_loopback_only(daemon: Daemon) -> None:
    _assert_loopback_only(daemon.d, "2376/tcp")


# ==== 4. keys: private, removed, never shown ========================================================================

def test_keys_are_private_while_the_daemon_runs(daemon: Daemon) -> None:
    cert_dir = Path(daemon.d.cert_path)
    st = cert_dir.stat()
    assert st.st_mode & 0o777 == 0o700 and st.st_uid == os.getuid()
    assert sorted(p.name for p in cert_dir.iterdir()) == ["ca.pem", "cert.pem", "key.pem"]
    for p in cert_dir.iterdir():
        mode = p.lstat().st_mode
        assert not p.is_symlink() and p.stat().st_uid == os.getuid(), p
        assert mode & 0o022 == 0, f"{p} is writable by others: {oct(mode)}"
        if "PRIVATE KEY" in p.read_text():
            assert mode & 0o777 == 0o600, f"{p} holds a private key with mode {oct(mode & 0o777)}"
    assert (cert_dir / "key.pem").stat().st_mode & 0o777 == 0o600
    # In the container: the server key only, 0600 in a 0700 directory; the CA key never existed there.
    code, out = daemon.d.exec(["sh", "-c", "grep -rl 'PRIVATE KEY' /certs; stat -c '%a %n' /certs/server "
                                           "/certs/server/key.pem; test ! -e /certs/ca/key.pem && echo no-ca-key"])
    assert code == 0, out
    assert out.decode().split("\n") == ["/certs/server/key.pem", "700 /certs/server", "600 /certs/server/key.pem",
                                        "no-ca-key", ""], out
    # What the engine reports about the container (env, labels, command) carries no key.
    inspect_text = json.dumps(outer().containers.get(daemon.d.id).attrs)
    assert not _leaks(inspect_text, _key_secrets(daemon))


@pytest.mark.parametrize("failure", ["entrypoint-exits", "dockerd-exits"])
def test_keys_are_removed_at_teardown_and_after_a_failed_start(failure: str, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))  # where the core makes its private cert dirs
    labels = _case()
    with dind.Dind(IMAGE, labels=labels) as d:
        # The daemon's private directory, in TMPDIR, holds the client certs (its certs/ is DOCKER_CERT_PATH).
        assert Path(d.dir).parent == tmpdir and Path(d.cert_path).parent == Path(d.dir)
        assert (Path(d.cert_path) / "key.pem").exists()
    assert list(tmpdir.iterdir()) == []

    # busybox's entrypoint is a shell that exits at once without a terminal; dockerd exits on an unknown flag.
    image, args = ("busybox:latest", []) if failure == "entrypoint-exits" else (IMAGE, ["--no-such-flag"])
    with pytest.raises(errors.DaemonStartError) as ei:
        dind.Dind(image, labels=labels, dockerd_args=args)
    assert list(tmpdir.iterdir()) == [], "a failed start left its cert directory behind"
    assert _made_with(labels) == [], "a failed start left its container behind"
    text = "\n".join([str(ei.value), repr(ei.value), ei.value.log_tail])
    assert "PRIVATE KEY" not in text


def _pem_secrets(pem: str) -> List[str]:
    """What would give a PEM key away: its base64 body joined, and each of its lines."""
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return ["".join(body), *[line for line in body if len(line) >= 16]]


def _key_secrets(daemon: Daemon) -> List[str]:
    client_key = Path(daemon.cert("key.pem")).read_text()
    code, server_key = daemon.d.exec(["cat", "/certs/server/key.pem"])
    assert code == 0 and b"PRIVATE KEY" in server_key
    return _pem_secrets(client_key) + _pem_secrets(server_key.decode())


def _leaks(text: str, secrets: Sequence[str]) -> List[str]:
    found = ["a PEM private key header"] if "PRIVATE KEY" in text else []
    found += [f"{s[:8]}... ({len(s)} chars)" for s in secrets if s and s in text]
    return found


def _cli(*args: str) -> subprocess.CompletedProcess:
    # Subprocesses import the very dind package these tests import (installed, or a build tree on PYTHONPATH).
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=CLI_TIMEOUT, env=env,
                          stdin=subprocess.DEVNULL)


def test_no_key_in_repr_errors_logs_or_cli_output(daemon: Daemon, pki: Pki, tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture,
                                                  capfd: pytest.CaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = _key_secrets(daemon)
    texts: Dict[str, str] = {}
    d = daemon.d
    for name, obj in (("Dind", d), ("Client", d.client), ("core client", d.client.api), ("env", d.env),
                      ("timings", d.timings)):
        texts[f"repr({name})"] = repr(obj)
        texts[f"str({name})"] = str(obj)
    texts["daemon log"] = d.logs(tail=5000)

    def error_of(tls: Dict[str, object], host: str = d.host) -> str:
        with pytest.raises(errors.DockerException) as ei:
            dind.Client(host, tls=tls, timeout=20).ping()
        return f"{ei.value}\n{ei.value!r}\n{ei.value.args!r}"

    # Refused by the daemon, refused by us, and key files we cannot use: the errors name files, never contents.
    texts["no client cert"] = error_of(_tls(daemon.cert("ca.pem")))
    texts["other CA client"] = error_of(_tls(daemon.cert("ca.pem"), pki.path("other-client.pem"),
                                             pki.path("other-client-key.pem")))
    texts["wrong server CA"] = error_of(_tls(pki.path("otherca.pem"), daemon.cert("cert.pem"), daemon.cert("key.pem")))
    mismatched = tmp_path / "mismatched-key.pem"
    shutil.copy(pki.path("other-client-key.pem"), mismatched)
    secrets += _pem_secrets(mismatched.read_text())
    texts["key not matching the cert"] = error_of(_tls(daemon.cert("ca.pem"), daemon.cert("cert.pem"),
                                                       str(mismatched)))
    key_text = Path(daemon.cert("key.pem")).read_text()
    lines = key_text.splitlines()
    mid = lines[1]
    lines[1] = mid[:10] + ("A" if mid[10] != "A" else "B") + mid[11:]  # a corrupt copy of the daemon's client key
    corrupt = tmp_path / "corrupt-key.pem"
    corrupt.write_text("\n".join(lines) + "\n")
    secrets += _pem_secrets(corrupt.read_text())
    texts["corrupt key"] = error_of(_tls(daemon.cert("ca.pem"), daemon.cert("cert.pem"), str(corrupt)))
    texts["key as the CA"] = error_of(_tls(daemon.cert("key.pem"), daemon.cert("cert.pem"), daemon.cert("key.pem")))
    texts["key as the cert"] = error_of(_tls(daemon.cert("ca.pem"), daemon.cert("key.pem"), daemon.cert("key.pem")))

    # The CLI on a daemon of its own: up, env, ls, ls --json, down.
    name = f"{SESSION}-cli"
    runs: Dict[str, subprocess.CompletedProcess] = {}
    up = _cli("up", "--name", name, "--image", IMAGE, "--label", f"dind.test={SESSION}")
    try:
        assert up.returncode == 0, up.stderr
        cert_path = _exports(up.stdout)["DOCKER_CERT_PATH"]
        cli_secrets = _pem_secrets(Path(cert_path, "key.pem").read_text())
        runs.update({"up": up, "env": _cli("env", name), "ls": _cli("ls"), "ls --json": _cli("ls", "--json")})
    finally:
        runs["down"] = down = _cli("down", name)
    assert down.returncode == 0, down.stderr
    assert not os.path.exists(cert_path)
    for cmd, proc in runs.items():
        assert proc.returncode == 0, (cmd, proc.stderr)
        texts[f"dind {cmd}"] = proc.stdout + proc.stderr
    assert name in texts["dind ls"]

    texts["log records"] = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    out, err = capfd.readouterr()
    texts["stdout/stderr"] = out + err
    leaks = {what: found for what, text in texts.items() if (found := _leaks(text, secrets + cli_secrets))}
    assert not leaks, leaks


# -- X-Registry-Auth ------------------------------------------------------------------------------------------------

class _CapturingEngine(ThreadingHTTPServer):
    """Only to read the exact X-Registry-Auth bytes the client sends (no real engine shows them): answers /_ping and
    refuses pulls and pushes with 500."""
    daemon_threads = True

    def __init__(self) -> None:
        self.seen: List[str] = []
        super().__init__(("127.0.0.1", 0), _CapturingHandler)


class _CapturingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _CapturingEngine

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Api-Version", "1.41")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's names
        if self.path.endswith("/_ping"):
            self._answer(200, b"OK", "text/plain")
        else:
            self._answer(404, b'{"message":"not here"}')

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.headers.get("X-Registry-Auth"):
            self.server.seen.append(self.headers["X-Registry-Auth"])
        self._answer(500, b'{"message":"the capturing engine refuses every pull and push"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def capturing_engine() -> Iterator[_CapturingEngine]:
    srv = _CapturingEngine()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def _auth_secrets(auth: Dict[str, str], headers: Sequence[str]) -> List[str]:
    """The header values sent, and whatever else would give the credentials away."""
    raw = json.dumps(auth).encode()
    out = list(headers) + [v for k, v in auth.items() if k in ("password", "identitytoken")]
    out += [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")]
    for v in list(out):
        out.append(base64.b64encode(v.encode()).decode().rstrip("="))
    return [s for s in out if len(s) >= 8]


def _error_text(e: BaseException) -> str:
    parts = []
    while e is not None:
        parts += [str(e), repr(e), repr(e.args), str(getattr(e, "explanation", "") or "")]
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return "\n".join(parts)


@pytest.mark.parametrize("kind", ["password", "identitytoken"])
def test_registry_auth_never_in_errors_or_logs(kind: str, daemon: Daemon, capturing_engine: _CapturingEngine,
                                               caplog: pytest.LogCaptureFixture,
                                               capfd: pytest.CaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = f"dind-s3cret-{uuid.uuid4().hex}"
    auth = ({"username": "dind-user", "password": secret, "serveraddress": "127.0.0.1:1"} if kind == "password"
            else {"identitytoken": secret, "serveraddress": "127.0.0.1:1"})
    repo = "127.0.0.1:1/dind-security/none"  # no registry listens there: every pull and push fails

    # What the client puts in X-Registry-Auth, seen by an engine that refuses without echoing it.
    fake = dind.Client(f"tcp://127.0.0.1:{capturing_engine.server_address[1]}", version="1.41", timeout=20)
    texts: Dict[str, str] = {}
    with pytest.raises(errors.DockerException) as ei:
        fake.images.pull(repo, tag="v1", auth_config=auth)
    texts["pull (capturing engine)"] = _error_text(ei.value)
    with pytest.raises(errors.DockerException) as ei:
        fake.images.push(repo, tag="v1", auth_config=auth)
    texts["push (capturing engine)"] = _error_text(ei.value)
    assert len(capturing_engine.seen) == 2, "the client did not send X-Registry-Auth on pull and push"
    secrets = _auth_secrets(auth, capturing_engine.seen)

    # The real daemon: the registry is unreachable, so both fail; with and without streaming.
    c = daemon.d.client
    with pytest.raises(errors.DockerException) as ei:
        c.images.pull(repo, tag="v1", auth_config=auth)
    texts["pull"] = _error_text(ei.value)
    assert "127.0.0.1:1" in texts["pull"]  # the error still says what failed
    assert c.images.get("busybox:latest").tag(repo, "v1")
    with pytest.raises(errors.DockerException) as ei:
        c.images.push(repo, tag="v1", auth_config=auth)
    texts["push"] = _error_text(ei.value)
    with pytest.raises(errors.DockerException) as ei:
        for _ in c.images.push(repo, tag="v1", auth_config=auth, stream=True, decode=True):
            pass
    texts["push (stream)"] = _error_text(ei.value)
    c.images.remove(f"{repo}:v1")

    texts["daemon log"] = daemon.d.logs(tail=5000)
    texts["log records"] = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    out, err = capfd.readouterr()
    texts["stdout/stderr"] = out + err
    leaks = {what: found for what, text in texts.items() if (found := _leaks(text, secrets))}
    assert not leaks, leaks


# ==== 5. plain TCP only when asked, and then with a warning =========================================================

def test_tls_is_the_default_and_warns_nothing(daemon: Daemon) -> None:
    assert inspect.signature(dind.Dind).parameters["tls"].default is True
    assert not [w for w in daemon.warned if issubclass(w.category, InsecureWarning)]
    assert daemon.d.env["DOCKER_TLS_VERIFY"] == "1" and daemon.d.cert_path
    env = outer().containers.get(daemon.d.id).attrs["Config"]["Env"]
    assert "DOCKER_TLS_CERTDIR=/certs" in env
    # Plain HTTP to the daemon's port gets nowhere.
    with pytest.raises((errors.TLSError, errors.ConnectionError)):
        dind.Client(daemon.d.host, timeout=20).ping()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_plain_tcp_warns_and_still_binds_loopback_only(offline_images: tuple) -> None:
    assert issubclass(InsecureWarning, UserWarning)  # shown by Python's default filters
    port = _free_port()
    with pytest.warns(InsecureWarning, match="without TLS") as seen:
        d = dind.Dind(IMAGE, tls=False, host_port=port, labels=TEST_LABEL)
    try:
        ours = [w for w in seen if issubclass(w.category, InsecureWarning)]
        assert len(ours) == 1 and ours[0].filename == __file__  # blames the caller's line
        assert "127.0.0.1" in str(ours[0].message)
        assert d.client.ping() and set(d.env) == {"DOCKER_HOST"} and not d.cert_path
        # A port the user chose is still on loopback only.
        _assert_loopback_only(d, "2375/tcp", str(port))
    finally:
        d.close()


def test_plain_tcp_can_be_forbidden(offline_images: tuple) -> None:
    # A CI that turns the warning into an error gets it before anything is created.
    labels = _case()
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureWarning)
        with pytest.raises(InsecureWarning):
            dind.Dind(IMAGE, tls=False, labels=labels)
    assert _made_with(labels) == []


def test_dind_factory_plain_tcp_warns(dind_factory) -> None:
    with pytest.warns(InsecureWarning, match="without TLS"):
        d = dind_factory(image=IMAGE, tls=False, labels=TEST_LABEL)
    assert d.client.ping()


def test_cli_no_tls_warns_on_stderr() -> None:
    name = f"{SESSION}-plain"
    up = _cli("up", "--no-tls", "--name", name, "--image", IMAGE, "--label", f"dind.test={SESSION}")
    try:
        assert up.returncode == 0, up.stderr
        warning_lines = [line for line in up.stderr.splitlines() if line]
        assert len(warning_lines) == 1 and warning_lines[0].startswith("dind up: warning: --no-tls: "), up.stderr
        assert "InsecureWarning" not in up.stderr  # ours, not Python's warning format as well
        assert _exports(up.stdout)["DOCKER_HOST"].startswith("tcp://127.0.0.1:")
    finally:
        down = _cli("down", name)
    assert down.returncode == 0, down.stderr

    run = _cli("run", "--no-tls", "--image", IMAGE, "--label", f"dind.test={SESSION}", "--",
               "sh", "-c", 'echo "$DOCKER_HOST"')
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith("dind run: warning: --no-tls: ") and run.stderr.count("\n") == 1, run.stderr
    assert run.stdout.startswith("tcp://127.0.0.1:")
    # With TLS (the default) the same command says nothing on stderr.
    quiet = _cli("run", "--image", IMAGE, "--label", f"dind.test={SESSION}", "--", "sh", "-c", 'echo "$DOCKER_HOST"')
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
