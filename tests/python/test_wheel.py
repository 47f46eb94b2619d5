"""The sdist and the wheels scripts/wheel.sh makes (``dist/``; scripts/test.sh runs it before pytest), as users meet
them: each wheel tagged as ``auditwheel show`` proves and linking nothing from the system but glibc and
libstdc++/libgcc; installed with no network into a bare Debian that has python3 and no libarchive13, and running a
real job there against the machine's engine (a daemon of its own included); the sdist built from source; pip
refusing a wheel where glibc is older; a damaged vendored libarchive named in the error, with the fix."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Dict, List

import pytest

import jobs
from helpers import purge

REPO = Path(__file__).resolve().parents[2]
BARE_IMAGE = "dind-bare-python:latest"  # scripts/images.sh: bookworm minbase + python3, python3-venv
# What a wheel may still take from the system: glibc's libraries, libstdc++ and libgcc (the vendored ICU needs
# them; the extension has its own), and zlib, which every manylinux policy counts as part of the base system, so
# auditwheel never vendors it (the policies also list X11/GL/glib libraries, which nothing here may need).
SYSTEM_LIBS = {"libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "ld-linux-x86-64.so.2",
               "libstdc++.so.6", "libgcc_s.so.1", "libz.so.1"}
SHIM = "dind/libdind_archive.so"
TIMEOUT = 240  # a safety net for a hung job, not a performance bound


def dist() -> Path:
    return REPO / os.environ.get("DIND_DIST_DIR", "dist")


def run(argv: List[str], **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)  # type: ignore[call-overload]


def this_tag() -> str:
    return f"cp{sys.version_info[0]}{sys.version_info[1]}"


@pytest.fixture(scope="module")
def wheels() -> Dict[str, Path]:
    """The wheels in dist/ by interpreter tag (cp311, ...); fails (never skips) when there are none."""
    found = {}
    for w in sorted(dist().glob("dind-*.whl")):
        m = re.match(r"dind-[^-]+-(cp\d+)-", w.name)
        if m:
            found[m.group(1)] = w
    if not found:
        pytest.fail(f"no dind wheel in {dist()}: run scripts/wheel.sh (scripts/test.sh does)", pytrace=False)
    return found


@pytest.fixture(scope="module")
def auditwheel() -> str:
    tool = REPO / "build" / "wheels" / "auditwheel"  # scripts/wheel.sh links the one it repaired with
    if not os.access(tool, os.X_OK):
        pytest.fail(f"{tool} is missing: run scripts/wheel.sh", pytrace=False)
    return str(tool)


def platform_tags(wheel: Path) -> List[str]:
    return wheel.name[:-len(".whl")].split("-")[-1].split(".")


def test_one_wheel_per_cpython_here_and_one_sdist(wheels: Dict[str, Path]) -> None:
    minors = set(pyenv_pythons())
    assert minors | {this_tag()} <= set(wheels), f"pyenv has {sorted(minors)}, dist/ has {sorted(wheels)}"
    assert len(list(dist().glob("dind-*.tar.gz"))) == 1


def pyenv_pythons() -> Dict[str, Path]:
    """The newest CPython 3.9-3.13 of each minor that pyenv has, by tag (as scripts/wheel.sh picks them)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found: Dict[str, Path] = {}
    for p in sorted(root.glob("3.*"), key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()]):
        m = re.fullmatch(r"3\.(9|1[0-3])\.\d+", p.name)
        if m and (p / "bin" / "python3").exists():
            found[f"cp3{m.group(1)}"] = p / "bin" / "python3"
    return found


def test_each_wheel_imports_and_pings_from_a_fresh_venv_of_its_python(wheels: Dict[str, Path],
                                                                      tmp_path: Path) -> None:
    pythons = pyenv_pythons()
    for tag, wheel in wheels.items():
        assert tag in pythons, f"{wheel.name}: no {tag} interpreter under pyenv to try it with"
        venv = tmp_path / tag
        out = run([str(pythons[tag]), "-m", "venv", str(venv)])
        assert out.returncode == 0, out.stderr
        out = run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                   "--disable-pip-version-check", str(wheel)])
        assert out.returncode == 0, out.stdout + out.stderr
        out = run([str(venv / "bin" / "python"), "-c",
                   "import sys, dind; assert dind.from_env().ping(); print(sys.version_info[:2], dind._core.__file__)"],
                  cwd=str(tmp_path))
        assert out.returncode == 0 and f"{venv}/lib/python3." in out.stdout, (tag, out.stdout + out.stderr)


def test_auditwheel_show_proves_each_tag(wheels: Dict[str, Path], auditwheel: str) -> None:
    for wheel in wheels.values():
        out = run([auditwheel, "show", str(wheel)])
        assert out.returncode == 0, out.stderr
        text = " ".join(out.stdout.split())
        m = re.search(r'consistent with the following platform tag: "([^"]+)"', text)
        assert m, text
        assert m.group(1).startswith("manylinux_") and m.group(1) in platform_tags(wheel), (wheel.name, text)


def needed(path: Path) -> List[str]:
    out = run(["readelf", "-d", str(path)])
    assert out.returncode == 0, out.stderr
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out.stdout)


def test_each_shared_object_links_only_the_base_system(wheels: Dict[str, Path], tmp_path: Path) -> None:
    for tag, wheel in wheels.items():
        root = tmp_path / tag
        zipfile.ZipFile(wheel).extractall(root)
        vendored = {p.name for p in (root / "dind.libs").iterdir()}
        assert any(n.startswith("libarchive") for n in vendored) and any(n.startswith("libssl") for n in vendored)
        objects = sorted(p for p in root.rglob("*.so*") if p.is_file())
        for obj in objects:
            from_system = [n for n in needed(obj) if n not in vendored]
            assert set(from_system) <= SYSTEM_LIBS, f"{wheel.name}: {obj.relative_to(root)} needs {from_system}"
        core = next(root.glob("dind/_core*.so"))
        assert set(needed(core)) - vendored == {"libc.so.6", "ld-linux-x86-64.so.2"}, needed(core)
        assert not any("archive" in n for n in needed(core)), "libarchive must stay out of import dind"
        assert any(n.startswith("libarchive") and n in vendored for n in needed(root / SHIM))


def test_the_wheel_carries_every_file_of_the_package(wheels: Dict[str, Path]) -> None:
    # py.typed and .pyi stubs included: whatever sits in python/dind ends up in the wheel.
    package = REPO / "python" / "dind"
    want = {f"dind/{p.relative_to(package)}" for p in package.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}
    assert want <= set(zipfile.ZipFile(wheels[this_tag()]).namelist())


def test_pip_refuses_the_wheel_where_glibc_is_older(wheels: Dict[str, Path], tmp_path: Path) -> None:
    ours = next(t for t in platform_tags(wheels[this_tag()]) if t.startswith("manylinux_"))
    glibc_minor = int(ours.split("_")[2])
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"

    def dry_run(platform: str) -> subprocess.CompletedProcess:
        return run([sys.executable, "-m", "pip", "install", "--dry-run", "--target", str(tmp_path / "target"),
                    "--only-binary=:all:", "--platform",
                    platform, "--python-version", version, "--no-index", "--find-links", str(dist()),
                    "--disable-pip-version-check", "dind"])

    assert dry_run(ours).returncode == 0
    for older in ("manylinux2014_x86_64", f"manylinux_2_{glibc_minor - 1}_x86_64"):
        refused = dry_run(older)
        assert refused.returncode != 0 and "No matching distribution found for dind" in refused.stderr, older


# What a job does with the wheel where nothing was built: the engine, a container, archives, a daemon of its own.
JOB = b"""
import io, os, subprocess, sys, tarfile
import dind

def mapped():
    return [line.split()[-1] for line in open("/proc/self/maps") if "libarchive" in line][:1]

print("lazy", mapped() == [] and "dind._core" not in sys.modules)
client = dind.from_env()
print("ping", client.ping())
print("ran", client.containers.run("busybox:latest", ["echo", "hi"], remove=True).decode().strip())
with dind.Dind("dind-offline:latest") as d:
    d.load_images(["busybox:latest"])
    print("inner", d.client.containers.run("busybox:latest", ["echo", "inside"], remove=True).decode().strip())
    c = d.client.containers.create("busybox:latest", ["true"])
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("hello.txt")
        info.size = 5
        t.addfile(info, io.BytesIO(b"hello"))
    c.put_archive("/tmp", tar.getvalue())
    stream, stat = c.get_archive("/tmp/hello.txt")
    got = tarfile.open(fileobj=io.BytesIO(b"".join(stream))).extractfile("hello.txt").read()
    print("archive", got.decode(), stat["size"])
    c.remove(force=True)
print("libarchive", mapped())
"""

# The same archive call with the package copied and its shim removed: the fallback to the system's libarchive,
# which this Debian does not have, must say so.
NO_SHIM = """
set -e
site=$(/v/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cp -r "$site/dind" "$site/dind.libs" /tmp/ && rm /tmp/dind/libdind_archive.so
PYTHONPATH=/tmp /v/bin/python -c 'import dind; dind.Dind("dind-offline:latest")' 2>&1 || echo "status $?"
"""


def test_installs_offline_and_runs_in_a_bare_debian(wheels: Dict[str, Path], offline_images: tuple,
                                                   tmp_path: Path) -> None:
    wheel = wheels.get("cp311")  # bookworm's python3
    assert wheel, f"no cp311 wheel in {dist()} for bookworm's python3"
    venv = tmp_path / "v"
    venv.mkdir()
    install = (f"python3 -m venv /v && /v/bin/pip install -q --no-index --disable-pip-version-check "
               f"/wheels/{wheel.name} && ! ls /usr/lib/*/libarchive* /lib/*/libarchive* 2>/dev/null && echo installed")
    code, out = jobs.run_in_job(BARE_IMAGE, install, socket=False, network="none", timeout=TIMEOUT,
                                volumes=[f"{venv}:/v", f"{dist()}:/wheels:ro"])
    assert code == 0 and out.strip().endswith("installed"), out
    session = f"test-wheel-{uuid.uuid4().hex[:10]}"
    try:
        code, out = jobs.run_in_job(BARE_IMAGE, "/v/bin/python /job/run.py 2>&1", files={"/job/run.py": JOB},
                                    volumes=[f"{venv}:/v"], environment={"DIND_SESSION": session}, timeout=TIMEOUT)
        assert code == 0, out
        lines = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
        assert lines.get("lazy") == "True" and lines.get("ping") == "True", out
        assert lines.get("ran") == "hi" and lines.get("inner") == "inside", out
        assert lines.get("archive") == "hello 5", out
        assert re.fullmatch(r"\['/v/lib/python3\.11/site-packages/dind\.libs/libarchive-[^/]*\.so[.0-9]*'\]",
                            lines.get("libarchive", "")), out
        code, out = jobs.run_in_job(BARE_IMAGE, NO_SHIM, volumes=[f"{venv}:/v"], timeout=TIMEOUT,
                                    environment={"DIND_SESSION": session})
        assert "loading libarchive.so.13 (libarchive, for tar streams) failed" in out, out
        assert "install libarchive13" in out and "status 1" in out, out
    finally:
        assert purge(session) == [], "a daemon started in the job was left behind"
    assert jobs.leftovers(jobs.JOB_LABEL) == []


def fresh_venv(path: Path) -> Path:
    out = run([sys.executable, "-m", "venv", str(path)])
    assert out.returncode == 0, out.stderr
    return path / "bin" / "python"


SMOKE = """
import io, tarfile, dind
c = dind.from_env()
assert c.ping()
box = c.containers.create("busybox:latest", ["true"], labels={"dind.test": "wheel"})
try:
    box.put_archive("/tmp", open(__import__("sys").argv[1], "rb"))
    stream, stat = box.get_archive("/tmp/hello.txt")
    print(tarfile.open(fileobj=io.BytesIO(b"".join(stream))).extractfile("hello.txt").read().decode())
finally:
    box.remove(force=True)
"""


def test_the_sdist_installs_from_source_and_runs(offline_images: tuple, tmp_path: Path) -> None:
    sdist = next(dist().glob("dind-*.tar.gz"))
    # A fixed path, made fresh, with the build requirements in it (from PyPI, or pip's cache), and the build dir of
    # scripts/wheel.sh: the compiler then sees the same paths relative to CCACHE_BASEDIR as there and each time
    # before, so the core (and, from the second run, the binding) comes from ccache.
    venv = Path("/tmp/dind-test-sdist-venv")
    run(["rm", "-rf", str(venv)])
    py = fresh_venv(venv)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    out = run(pip + ["scikit-build-core>=0.10", "pybind11>=3.0"])  # pyproject.toml's build requirements
    assert out.returncode == 0, out.stdout + out.stderr
    env = {**os.environ, "CCACHE_BASEDIR": "/tmp", "CCACHE_NOHASHDIR": "1"}
    out = run(pip + ["--no-build-isolation", "--config-settings=build-dir=build/wheels/{wheel_tag}", str(sdist)],
              env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    (tmp_path / "hello.txt").write_text("hello")
    run(["tar", "-C", str(tmp_path), "-cf", str(tmp_path / "hello.tar"), "hello.txt"])
    out = run([str(py), "-c", SMOKE, str(tmp_path / "hello.tar")], cwd=str(tmp_path))
    assert out.returncode == 0 and out.stdout.strip() == "hello", out.stdout + out.stderr
    run(["rm", "-rf", str(venv)])


def test_a_damaged_vendored_libarchive_is_named_with_the_fix(wheels: Dict[str, Path], tmp_path: Path) -> None:
    py = fresh_venv(tmp_path / "v")
    out = run([str(py), "-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check",
               str(wheels[this_tag()])])
    assert out.returncode == 0, out.stderr
    site = Path(run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    vendored = next((site / "dind.libs").glob("libarchive-*"))
    vendored.write_bytes(b"not an ELF file")
    out = run([str(py), "-c", "import dind; dind.Dind('dind-offline:latest')"], cwd=str(tmp_path))
    assert out.returncode != 0
    assert f"loading libarchive (for tar streams) through {site}/dind/libdind_archive.so failed" in out.stderr
    assert vendored.name in out.stderr and "pip install --force-reinstall dind" in out.stderr, out.stderr
