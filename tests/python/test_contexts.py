"""``dind.from_env()`` follows docker contexts like the docker CLI: stores written by the real ``docker context
create/use`` in a temporary DOCKER_CONFIG, with the machine's engine over its unix socket and a real mutual-TLS daemon
(one ``dind-offline:latest`` for the module, closed at its end). The CLI, given the same DOCKER_CONFIG, must reach the
same daemon."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterator, Optional

import pytest

import dind
from dind import errors

DIND_IMAGE = "dind-offline:latest"
LABELS = {"dind.test": f"test-contexts-{os.getpid()}"}
ENGINE = "unix:///var/run/docker.sock"
# Every variable the CLI or dind reads to find the engine: the tests set exactly the ones they mean.
DOCKER_VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def docker_cli(config: Path, *args: str, env: Optional[Dict[str, str]] = None) -> str:
    """``docker ARGS`` with DOCKER_CONFIG=CONFIG, none of this process's other DOCKER_* variables, plus ``env``;
    its stdout."""
    full = {k: v for k, v in os.environ.items() if k not in DOCKER_VARS}
    full["DOCKER_CONFIG"] = str(config)
    full.update(env or {})
    exe = shutil.which("docker") or "/usr/local/bin/docker"
    proc = subprocess.run([exe, *args], env=full, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def outer(offline_images: tuple) -> dind.Client:
    return dind.Client(ENGINE)


@pytest.fixture(scope="module")
def tls_daemon(outer: dind.Client) -> Iterator[dind.Dind]:
    with dind.Dind(DIND_IMAGE, client=outer, labels=LABELS) as d:
        yield d
    assert outer.containers.list(all=True, filters={"label": [f"dind.test={LABELS['dind.test']}"]}) == []


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty DOCKER_CONFIG that this process's environment points at, with no other DOCKER_* variable set."""
    for k in DOCKER_VARS:
        monkeypatch.delenv(k, raising=False)
    d = tmp_path / "docker-config"
    d.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(d))
    return d


def test_a_context_on_the_engines_unix_socket(outer: dind.Client, config: Path) -> None:
    docker_cli(config, "context", "create", "engine", "--docker", f"host={ENGINE}")
    docker_cli(config, "context", "use", "engine")
    with dind.from_env() as c:
        assert c.base_url == ENGINE
        assert c.ping()
        assert c.version()["Version"] == docker_cli(config, "version", "--format", "{{.Server.Version}}")
        assert c.info()["ID"] == outer.info()["ID"]


def test_a_context_on_a_mutual_tls_daemon(outer: dind.Client, tls_daemon: dind.Dind, config: Path,
                                          monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    host = tls_daemon.env["DOCKER_HOST"]
    certs = Path(tls_daemon.env["DOCKER_CERT_PATH"])
    assert host.startswith("tcp://127.0.0.1:")
    docker_cli(config, "context", "create", "tls-dind", "--docker",
               f"host={host},ca={certs / 'ca.pem'},cert={certs / 'cert.pem'},key={certs / 'key.pem'}")
    docker_cli(config, "context", "use", "tls-dind")
    # The TLS material must come from the store: the environment's TLS settings point at nothing and do not apply.
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path / "no-certs-here"))

    with dind.from_env() as c:
        assert c.base_url == "https://" + host[len("tcp://"):]
        assert c.ping()
        v = c.version()
        assert v["ApiVersion"]
        inner_id = c.info()["ID"]
    assert inner_id != outer.info()["ID"]
    # The real CLI, with the same DOCKER_CONFIG (and no DOCKER_HOST), talks to the same daemon.
    assert docker_cli(config, "info", "--format", "{{.ID}}") == inner_id
    assert docker_cli(config, "version", "--format", "{{.Server.Version}}") == v["Version"]

    # DOCKER_HOST still wins over the current context, for both.
    monkeypatch.setenv("DOCKER_HOST", ENGINE)
    with dind.from_env() as c:
        assert c.base_url == ENGINE
        assert c.info()["ID"] == outer.info()["ID"]
    assert docker_cli(config, "info", "--format", "{{.ID}}", env={"DOCKER_HOST": ENGINE}) == outer.info()["ID"]
    monkeypatch.delenv("DOCKER_HOST")

    # DOCKER_CONTEXT wins over config.json: "default" is the environment's rules again (the unix socket; the TLS
    # variables are dropped for a socket).
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    with dind.from_env() as c:
        assert c.base_url == ENGINE


def test_kwargs_from_env_follows_the_current_context(tls_daemon: dind.Dind, config: Path) -> None:
    """docker-py's kwargs_from_env shape, from the core's rule: the context's endpoint and its TLS files from the
    CLI's store (docker-py itself would ignore the context)."""
    host = tls_daemon.env["DOCKER_HOST"]
    certs = Path(tls_daemon.env["DOCKER_CERT_PATH"])
    docker_cli(config, "context", "create", "tls-kw", "--docker",
               f"host={host},ca={certs / 'ca.pem'},cert={certs / 'cert.pem'},key={certs / 'key.pem'}")
    docker_cli(config, "context", "use", "tls-kw")
    kwargs = dind.utils.kwargs_from_env()
    assert kwargs["base_url"] == "https://" + host[len("tcp://"):]
    tls = kwargs["tls"]
    assert tls.verify is True and str(config) in tls.ca_cert and all(str(config) in f for f in tls.cert), vars(tls)
    assert dind.DockerClient(**kwargs).info()["ID"] == docker_cli(config, "info", "--format", "{{.ID}}")


def test_a_context_that_does_not_exist(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_CONTEXT", "ci")
    with pytest.raises(errors.DockerException) as e:
        dind.from_env()
    msg = str(e.value)
    assert f'docker context "ci" not found in {config}/contexts/meta' in msg
    assert "DOCKER_CONTEXT=ci" in msg
    # Named in config.json instead: the message says where the name came from.
    monkeypatch.delenv("DOCKER_CONTEXT")
    (config / "config.json").write_text('{"currentContext": "gone"}')
    with pytest.raises(errors.DockerException, match=f"currentContext in {config}/config.json"):
        dind.Client.from_env()


def test_from_env_documents_contexts() -> None:
    for doc in (dind.from_env.__doc__, dind.Client.from_env.__doc__):
        assert doc and "DOCKER_CONTEXT" in doc and "config.json" in doc, doc
