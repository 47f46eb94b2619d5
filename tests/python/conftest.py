"""Session-wide pytest set-up shared by the Python tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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
