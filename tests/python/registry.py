"""A private registry for the tests: Debian's docker-registry on 127.0.0.1 with TLS (certs made here) and htpasswd
auth, started and removed by the tests (scripts/provision.sh installs docker-registry and apache2-utils)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional

USER = "dind-user"
PASSWORD = "s3cret-Reg1stry-Pa55"  # searched for in messages, reprs, logs and env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """docker-registry serving https://127.0.0.1:PORT with USER/PASSWORD; ``close()`` stops it and removes its files."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dind-registry-"))
        self.port = _free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        d = self.dir
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")], check=True, capture_output=True)
        subprocess.run(["htpasswd", "-Bbc", str(d / "htpasswd"), USER, PASSWORD], check=True, capture_output=True)
        (d / "config.yml").write_text(json.dumps({
            "version": 0.1, "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(d / "data")}, "delete": {"enabled": True}},
            "http": {"addr": self.host, "tls": {"certificate": str(d / "cert.pem"), "key": str(d / "key.pem")}},
            "auth": {"htpasswd": {"realm": "dind-tests", "path": str(d / "htpasswd")}}}))
        self.log = open(d / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(d / "config.yml")], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    with ctx.wrap_socket(s):
                        return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"docker-registry did not start: {(d / 'registry.log').read_text()}")
                time.sleep(0.1)

    def config_dir(self, entries: Optional[Dict[str, object]] = None) -> str:
        """A docker config dir whose config.json holds ``entries`` (default: this registry's auths)."""
        cfg = Path(tempfile.mkdtemp(prefix="config-", dir=self.dir))
        auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        body = entries if entries is not None else {"auths": {self.host: {"auth": auth}}}
        (cfg / "config.json").write_text(json.dumps(body))
        return str(cfg)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if hasattr(self, "log"):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def serve_in_container(reg: Registry, client: "object", network: str, name: str, secure: bool = True) -> "object":
    """The same registry binary and files in a busybox container on ``network`` (port 5000, TLS, htpasswd), for a
    daemon that cannot reach the host's 127.0.0.1; its port is also published on 127.0.0.1 for pushes from the host.
    ``secure=False``: plain HTTP and no auth, as a registry mirror is commonly run inside a CI network.
    The binary needs only libc and the loader (``ldd``), mounted beside it."""
    cfg = dict(json.loads((reg.dir / "config.yml").read_text()))
    cfg["http"] = {**cfg["http"], "addr": "0.0.0.0:5000"}
    cfg["storage"] = {"filesystem": {"rootdirectory": "/var/lib/registry"}}
    if not secure:
        del cfg["http"]["tls"], cfg["auth"]
    config = reg.dir / f"{name}.yml"
    config.write_text(json.dumps(cfg))
    files = ["/usr/bin/docker-registry", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]
    mounts = {f: {"bind": f, "mode": "ro"} for f in files}
    mounts[str(reg.dir)] = {"bind": str(reg.dir), "mode": "ro"}
    return client.containers.run(  # type: ignore[attr-defined]
        "busybox:latest", ["/usr/bin/docker-registry", "serve", str(config)], name=name,
        detach=True, network=network, volumes=mounts, ports={"5000/tcp": ("127.0.0.1", None)},
        labels={"dind.test": "registry"})
