"""The typed API, checked: the package ships py.typed and the stubs of its extension, the checked-in stubs
(python/dind/_core.pyi) are what pybind11-stubgen makes of the installed dind._core (scripts/stubs.sh), and
``mypy --strict`` passes on the package and the examples (its settings: pyproject.toml, [tool.mypy])."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dind

REPO = Path(__file__).resolve().parents[2]


def test_the_installed_package_ships_py_typed_and_the_extension_stubs() -> None:
    installed = Path(dind.__file__).resolve().parent
    assert (installed / "py.typed").is_file(), f"no py.typed in the installed package {installed} (see the wheel)"
    stub = installed / "_core.pyi"
    assert stub.is_file(), f"no _core.pyi in the installed package {installed} (see the wheel)"
    assert stub.read_text() == (REPO / "python" / "dind" / "_core.pyi").read_text(), (
        f"{stub} differs from python/dind/_core.pyi: the installed wheel is older than this checkout "
        "(run scripts/build.sh)")


def test_the_checked_in_stubs_match_the_installed_extension() -> None:
    proc = subprocess.run(["bash", str(REPO / "scripts" / "stubs.sh"), "--check"], cwd=REPO,
                          env={**os.environ, "PYTHON": sys.executable}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (
        f"python/dind/_core.pyi is not what pybind11-stubgen makes of the installed dind._core:\n"
        f"{proc.stdout}{proc.stderr}\nfix: scripts/build.sh && scripts/stubs.sh, then commit python/dind/_core.pyi")


def test_mypy_strict_passes_on_the_package_and_the_examples() -> None:
    cache = REPO / "build" / "mypy-cache"
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(cache), "python/dind",
                           "examples"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"mypy --strict python/dind examples failed:\n{proc.stdout}{proc.stderr}"
