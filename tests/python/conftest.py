"""Session-wide pytest set-up shared by the Python tests."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

import jobs

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    # A command started in the background by a non-interactive shell inherits SIGINT ignored, and Python then installs
    # no KeyboardInterrupt handler: the Ctrl-C tests need the terminal's behaviour, whoever started the run.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# --- offline images (scripts/images.sh) -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def offline_images() -> tuple[str, str]:
    """Make sure busybox:latest and dind-offline:latest exist (built once by scripts/images.sh; quick when present).

    Returns the two image names. Fails (never skips) with the script's output when they cannot be made.
    """
    script = REPO / "scripts" / "images.sh"
    proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"{script} failed with status {proc.returncode}:\n{proc.stdout}{proc.stderr}", pytrace=False)
    return "busybox:latest", "dind-offline:latest"


# --- CI job containers, a dind service beside them, an sshd (jobs.py) --------------------------------------------
@pytest.fixture(scope="session")
def job_image(offline_images: tuple) -> str:
    """The tag of a CI job image: dind-offline:latest plus the wheel scripts/build.sh made (build/wheel/, or
    $DIND_WHEEL_DIR), installed system-wide with Debian's pip. Tagged ``dind-job:<hash of wheel, base, recipe>``:
    built once (~1 s) and reused while neither changes; this checkout's stale tags are removed. Fails (never skips)
    when the wheel is missing: run scripts/build.sh."""
    return jobs.job_image_or_fail()


@pytest.fixture(scope="module")
def dind_service(offline_images: tuple) -> Iterator[jobs.DindService]:
    """A dind service for this module's jobs (GitLab's ``services: docker:dind``): a dind-offline daemon on a fresh
    user network with the alias ``docker``, busybox:latest and dind-offline:latest loaded into it, able to run
    --privileged containers itself (the machine's runtime wrapper, when the engine has one). ``.network``, ``.env``
    (DOCKER_HOST=tcp://docker:2376, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH=/certs/client), ``.files`` (the client
    certs at /certs/client for ``run_in_job``), ``.daemon`` (the ``dind.Dind``). About 8 s (mostly loading the
    ~460 MB dind image); removed with its network at the module's end."""
    with jobs.dind_service() as svc:
        yield svc
    left = jobs.leftovers(jobs.SERVICE_LABEL)
    assert left == [], f"the dind service left containers or networks behind: {left}"


@pytest.fixture
def sshd() -> Iterator[jobs.Sshd]:
    """Debian's sshd on 127.0.0.1 at a free port, letting root in with a key made for this test only: ``.url``
    (ssh://root@127.0.0.1:PORT), ``.key``, ``.bin_dir`` (an ``ssh`` wrapper to put first on PATH; ``.env()`` does),
    ``.log``. Under 0.1 s. Stopped (with its sessions) and its temp dir removed afterwards; root's ~/.ssh untouched."""
    with jobs.sshd() as server:
        yield server
