"""Tests using dind's fixtures (see conftest.py next to this file)."""
from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from dind.errors import InsecureWarning

if TYPE_CHECKING:
    from dind import Client, Dind
    from dind.pytest_plugin import DindFactory


def test_run_a_container_in_the_session_daemon(dind_client: Client, inner_busybox: str) -> None:
    out = dind_client.containers.run(inner_busybox, ["echo", "hello"], remove=True)
    assert out == b"hello\n"


def test_the_docker_cli_uses_the_daemon_env(dind: Dind) -> None:
    # d.env holds DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH: any docker client accepts it as is.
    proc = subprocess.run(["docker", "info", "--format", "{{.ID}}"], env={**os.environ, **dind.env},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == dind.client.info()["ID"]


def test_a_private_daemon_for_one_test(dind_factory: DindFactory, dind: Dind) -> None:
    # A fresh daemon, here without TLS (which warns: anyone on this machine could use it); removed after this test
    # with its volumes.
    with pytest.warns(InsecureWarning):
        mine = dind_factory(tls=False)
    assert mine.client.ping()
    assert mine.env["DOCKER_HOST"].startswith("tcp://127.0.0.1:")
    assert "DOCKER_TLS_VERIFY" not in mine.env
    assert mine.client.info()["ID"] != dind.client.info()["ID"]
