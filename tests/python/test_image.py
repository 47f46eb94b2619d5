"""Tests of the offline images (scripts/images.sh) through the real docker CLI only.

They check that dind-offline:latest honours the dind image contract of ARCHITECTURE.md (the official docker:dind
entrypoint's behaviour): TLS with certs it makes, the verify-only path with certs brought in, plain TCP, extra
dockerd flags, explicit commands, and nested containers. Every container is labelled dind.session=test-image and
removed with its volumes at teardown.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

import pytest

DOCKER = "/usr/local/bin/docker" if os.access("/usr/local/bin/docker", os.X_OK) else (shutil.which("docker") or "docker")
SESSION_LABEL = "dind.session=test-image"
DIND = "dind-offline:latest"
BUSYBOX = "busybox:latest"
READY_TIMEOUT = 120.0  # bounds, not expectations: the machine is shared and often loaded
KEYGEN_TIMEOUT = 300.0  # three RSA-4096 keys took 8 s idle and 50 s with the machine's 2 cores busy

T = TypeVar("T")


def docker(*args: str, check: bool = True, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """Run the docker CLI against the outer engine."""
    proc = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def inner_env() -> dict:
    """Environment for CLI calls to an inner daemon: only the explicit -H/--tls flags may choose the endpoint."""
    env = dict(os.environ)
    for name in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT", "DOCKER_TLS"):
        env.pop(name, None)
    return env


def inner(host: str, *args: str, certs: Optional[Path] = None, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run the docker CLI against an inner daemon at host (tcp://127.0.0.1:PORT), with client certs if given."""
    tls = []
    if certs is not None:
        tls = ["--tlsverify", "--tlscacert", str(certs / "ca.pem"), "--tlscert", str(certs / "cert.pem"),
               "--tlskey", str(certs / "key.pem")]
    return subprocess.run([DOCKER, *tls, "-H", host, *args], capture_output=True, text=True, timeout=timeout,
                          env=inner_env())


def logs_tail(container: str, lines: int = 30) -> str:
    proc = docker("logs", "--tail", str(lines), container, check=False)
    return proc.stdout + proc.stderr


def wait_for(container: str, probe: Callable[[], Optional[T]], what: str, timeout: float = READY_TIMEOUT,
             interval: float = 0.1) -> T:
    """Poll probe until it returns a value; fail at once if the container stops, or after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = probe()
        except subprocess.TimeoutExpired:
            result = None
        if result is not None:
            return result
        state = docker("inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", container).stdout.split()
        if state[0] != "true":
            pytest.fail(f"{what}: container {container[:12]} exited with status {state[1]}; its last log lines:\n"
                        f"{logs_tail(container)}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: no answer within {timeout:.0f} s from container {container[:12]}; its last log "
                        f"lines:\n{logs_tail(container)}", pytrace=False)
        time.sleep(interval)


def published(container: str, port: str) -> str:
    """tcp://127.0.0.1:N for the container port published on 127.0.0.1."""
    out = docker("port", container, f"{port}/tcp").stdout.split()
    addr = next(a for a in out if a.startswith("127.0.0.1:"))
    return f"tcp://{addr}"


def server_version(host: str, certs: Optional[Path] = None) -> Optional[str]:
    proc = inner(host, "version", "-f", "{{.Server.Version}}", certs=certs)
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def dockerd_args(container: str) -> str:
    """The command line of the dockerd process inside container."""
    return docker("exec", container, "ps", "-o", "args=", "-C", "dockerd").stdout.strip()


def openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"openssl {' '.join(args)} in {cwd} failed: {proc.stderr.strip()}"


def make_ca(d: Path, name: str) -> None:
    """A CA (EC P-256: fast) as d/name-key.pem, d/name.pem."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}-key.pem", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=test-image {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign", cwd=d)


def issue(d: Path, ca: str, out: Path, cn: str, *exts: str) -> None:
    """out/{key,cert,ca}.pem: a leaf cert signed by the CA d/ca.pem with the given extensions."""
    out.mkdir(parents=True)
    (d / f"{out.name}.cnf").write_text("[ x509_exts ]\n" + "".join(f"{e}\n" for e in exts))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(out / "key.pem"),
            "-out", f"{out.name}.csr", "-subj", f"/CN={cn}", cwd=d)
    openssl("x509", "-req", "-in", f"{out.name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}-key.pem",
            "-CAcreateserial", "-days", "2", "-out", str(out / "cert.pem"), "-extfile", f"{out.name}.cnf",
            "-extensions", "x509_exts", cwd=d)
    shutil.copy(d / f"{ca}.pem", out / "ca.pem")


@pytest.fixture
def containers(offline_images) -> Iterator[list]:
    """Container ids created by a test; all removed with their volumes afterwards."""
    ids: list = []
    yield ids
    if ids:
        docker("rm", "-fv", *ids, check=False)


def run_dind(containers: list, *args: str, env: tuple = (), ports: tuple = ("2376",), create: bool = False) -> str:
    """docker run -d (or create) a privileged dind-offline container; args go to the entrypoint."""
    cmd = ["create" if create else "run"] + ([] if create else ["-d"]) + ["--privileged", "--label", SESSION_LABEL]
    for e in env:
        cmd += ["-e", e]
    for p in ports:
        cmd += ["-p", f"127.0.0.1::{p}"]
    cid = docker(*cmd, DIND, *args).stdout.strip()
    containers.append(cid)
    return cid


def test_images_exist_and_busybox_runs(offline_images) -> None:
    docker("image", "inspect", BUSYBOX, DIND)
    out = docker("run", "--rm", "--label", SESSION_LABEL, BUSYBOX, "sh", "-c", "echo ok").stdout
    assert out == "ok\n"
    config = json.loads(docker("image", "inspect", "-f", "{{json .Config}}", DIND).stdout)
    assert "DOCKER_TLS_CERTDIR=/certs" in config["Env"]
    assert "/var/lib/docker" in config["Volumes"]
    assert {"2375/tcp", "2376/tcp"} <= set(config["ExposedPorts"])


def test_tls_with_certs_made_by_entrypoint(containers: list, tmp_path: Path) -> None:
    cid = run_dind(containers, env=("DOCKER_TLS_SAN=DNS:dind.example",))
    host = published(cid, "2376")
    client = tmp_path / "client"

    def probe() -> Optional[str]:
        # Re-copied on every try: the files appear one by one while the entrypoint writes them.
        shutil.rmtree(client, ignore_errors=True)
        if docker("cp", "-q", f"{cid}:/certs/client", str(client), check=False).returncode != 0:
            return None
        if not all((client / f).is_file() and (client / f).stat().st_size for f in ("ca.pem", "cert.pem", "key.pem")):
            return None
        return server_version(host, client)

    # Polled less often: each try runs the CLI twice, which competes with the RSA-4096 keygen for the CPU.
    assert wait_for(cid, probe, f"TLS docker version on {host}", timeout=KEYGEN_TIMEOUT, interval=0.5)
    # Without the client cert the daemon refuses.
    assert inner(host, "version", certs=None).returncode != 0

    docker("cp", "-q", f"{cid}:/certs/server", str(tmp_path / "server"))
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(tmp_path / "server" / "cert.pem")],
                          capture_output=True, text=True, check=True).stdout
    for want in ("IP Address:127.0.0.1", "DNS:docker", "DNS:localhost", "DNS:dind.example",
                 "TLS Web Server Authentication"):
        assert want in text, f"server cert lacks {want}:\n{text}"
    ca_text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", str(client / "ca.pem")],
                             capture_output=True, text=True, check=True).stdout
    assert "Key Usage: critical" in ca_text and "Certificate Sign" in ca_text
    assert docker("exec", cid, "stat", "-c", "%a", "/certs/client/key.pem").stdout.strip() == "644"
    assert dockerd_args(cid).startswith(
        "dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify "
        "--tlscacert /certs/server/ca.pem --tlscert /certs/server/cert.pem --tlskey /certs/server/key.pem")


def test_tls_verify_only_with_certs_brought_in(containers: list, tmp_path: Path) -> None:
    make_ca(tmp_path, "ca")
    issue(tmp_path, "ca", tmp_path / "server", "server", "subjectAltName = IP:127.0.0.1,DNS:localhost",
          "extendedKeyUsage = serverAuth")
    issue(tmp_path, "ca", tmp_path / "client", "client", "extendedKeyUsage = clientAuth")

    cid = run_dind(containers, create=True)
    docker("cp", "-q", str(tmp_path / "server"), f"{cid}:/certs/server")
    docker("start", cid)
    host = published(cid, "2376")

    assert wait_for(cid, lambda: server_version(host, tmp_path / "client"), f"TLS docker version on {host}")
    assert docker("exec", cid, "test", "-e", "/certs/ca/key.pem", check=False).returncode == 1
    assert docker("exec", cid, "test", "-e", "/certs/client/cert.pem", check=False).returncode == 1
    served = docker("exec", cid, "cat", "/certs/server/cert.pem").stdout
    assert served == (tmp_path / "server" / "cert.pem").read_text(), "the entrypoint replaced the server cert"


def test_verify_only_fails_loudly_on_a_foreign_server_cert(containers: list, tmp_path: Path) -> None:
    make_ca(tmp_path, "ca")
    make_ca(tmp_path, "other")
    issue(tmp_path, "other", tmp_path / "server", "server", "subjectAltName = IP:127.0.0.1")
    shutil.copy(tmp_path / "ca.pem", tmp_path / "server" / "ca.pem")  # server/ca.pem is not the issuer

    cid = run_dind(containers, create=True)
    docker("cp", "-q", str(tmp_path / "server"), f"{cid}:/certs/server")
    docker("start", cid)
    status = int(docker("wait", cid, timeout=READY_TIMEOUT).stdout.strip())
    assert status != 0
    assert "does not verify" in logs_tail(cid)


def test_plain_tcp_without_tls(containers: list) -> None:
    cid = run_dind(containers, "--tls=false", env=("DOCKER_TLS_CERTDIR=",), ports=("2375",))
    host = published(cid, "2375")
    assert wait_for(cid, lambda: server_version(host), f"plain docker version on {host}")
    assert docker("exec", cid, "ls", "-A", "/certs/client").stdout == "", "certs made although TLS is off"
    assert docker("exec", cid, "test", "-e", "/certs/server", check=False).returncode == 1


def test_container_runs_inside(containers: list) -> None:
    cid = run_dind(containers, "--tls=false", env=("DOCKER_TLS_CERTDIR=",), ports=("2375",))
    host = published(cid, "2375")
    wait_for(cid, lambda: server_version(host), f"plain docker version on {host}")

    save = subprocess.Popen([DOCKER, "save", BUSYBOX], stdout=subprocess.PIPE)
    try:
        load = subprocess.run([DOCKER, "exec", "-i", cid, "docker", "load"], stdin=save.stdout, capture_output=True,
                              text=True, timeout=120)
    finally:
        save.stdout.close()
        assert save.wait(timeout=60) == 0
    assert load.returncode == 0, load.stderr
    out = docker("exec", cid, "docker", "run", "--rm", BUSYBOX, "echo", "hi").stdout
    assert out == "hi\n"


def test_dash_flags_are_appended_to_the_defaults(containers: list) -> None:
    cid = run_dind(containers, "--tls=false", "--mtu", "1400", env=("DOCKER_TLS_CERTDIR=",), ports=("2375",))
    host = published(cid, "2375")
    wait_for(cid, lambda: server_version(host), f"plain docker version on {host}")
    assert dockerd_args(cid) == "dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 --tls=false --mtu 1400"
    mtu = inner(host, "network", "inspect", "bridge", "-f", '{{index .Options "com.docker.network.driver.mtu"}}')
    assert mtu.stdout.strip() == "1400", mtu.stderr


def test_dockerd_first_arg_runs_as_given(containers: list) -> None:
    cid = run_dind(containers, "dockerd", "--host=unix:///var/run/docker.sock", ports=())
    probe = lambda: docker("exec", cid, "docker", "version", "-f", "{{.Server.Version}}", check=False).stdout.strip() or None
    wait_for(cid, probe, "docker version on the unix socket inside")
    assert dockerd_args(cid) == "dockerd --host=unix:///var/run/docker.sock"
    assert docker("exec", cid, "test", "-e", "/certs/server", check=False).returncode == 1


def test_other_command_is_executed(offline_images) -> None:
    out = docker("run", "--rm", "--label", SESSION_LABEL, DIND, "sh", "-c", "ls -A /certs/client; echo hello").stdout
    assert out == "hello\n"
