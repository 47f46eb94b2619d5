"""Reuse across runs (``Dind(reuse=KEY)``, ``dind up --reuse``) and layer caches (``Dind(cache=NAME)``, ``dind cache``),
against the machine's engine with the offline dind image.

Each test has its own reuse key, cache name, ``DIND_SESSION`` and state directory (``DIND_STATE_DIR``, where a reused
daemon's certs live); what it made is removed by key and name afterwards, and the test fails if anything was left.
"""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import dind
from dind import errors
from helpers import exists, outer, remove_containers, volume_exists

IMAGE = "dind-offline:latest"
TIMEOUT = 300  # a safety net for a hung command, not a performance bound


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, offline_images: tuple) -> Iterator[str]:
    """A fresh reuse key, session and state directory; removes the key's daemons afterwards."""
    k = f"t-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DIND_SESSION", f"reuse-{k}")
    monkeypatch.setenv("DIND_STATE_DIR", str(tmp_path / "state"))
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    yield k
    remove_containers(daemons_of(k))  # reused daemons stay by design: this test's go now
    left = remove_containers(outer().containers.list(all=True, filters={"label": [f"dind.session=reuse-{k}"]}))
    assert not left, f"the test left throwaway daemons behind: {left}"


@pytest.fixture
def cache(offline_images: tuple) -> Iterator[str]:
    """A fresh cache name; the volume is removed afterwards (the test fails if a daemon still used it)."""
    name = f"t-cache-{uuid.uuid4().hex[:10]}"
    yield name
    users = outer().containers.list(all=True, filters={"volume": [name]})
    remove_containers(users)
    if volume_exists(name):
        outer().volumes.get(name).remove()
    assert not users, f"daemons still used cache {name}: {[c.name for c in users]}"


def daemons_of(k: str) -> List[Any]:
    return outer().containers.list(all=True, filters={"label": [f"dind.reuse={k}"]})


def start_in_subprocess(k: str, *extra: str) -> str:
    """Starts ``Dind(reuse=k)`` in a process that then exits (as a finished CI run does); returns the daemon's name."""
    code = ("import sys, dind; d = dind.Dind(sys.argv[1], reuse=sys.argv[2], start_timeout=120); "
            "d.client.ping(); print(d.name)")
    r = subprocess.run([sys.executable, "-c", code, IMAGE, k, *extra], capture_output=True, text=True,
                       timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def cli(*args: str, env: "Dict[str, str] | None" = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dind", *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


# -- reuse --------------------------------------------------------------------------------------------------------
def test_a_second_run_with_the_key_attaches_and_other_options_start_anew(key: str) -> None:
    first = start_in_subprocess(key)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # attaching to a healthy daemon says nothing
        d = dind.Dind(IMAGE, reuse=key)
    assert d.reused and d.name == first
    assert d.client.ping()
    assert d.client.containers.list() == []
    d.close()
    assert exists(first), "close() of a reused daemon removed it"
    other = dind.Dind(IMAGE, reuse=key, dockerd_args=["--debug"])
    try:
        assert not other.reused and other.name != first, "other options must start a daemon of their own"
        assert exists(other.name)
    finally:
        other.close(force=True)
    assert not exists(other.name)


def test_reap_leaves_reused_daemons_and_prune_reused_removes_them_with_their_certs(key: str) -> None:
    name = start_in_subprocess(key)  # its owner, that process, is gone now
    info = outer().containers.get(name)
    cert_dir = info.labels["dind.dir"]
    assert os.path.isdir(cert_dir) and Path(cert_dir).parent == Path(os.environ["DIND_STATE_DIR"]) / "reuse"
    removed = dind.reap()
    assert info.id not in removed["containers"] and exists(name), "a session's reap removed a reused daemon"
    removed = dind.reap(reused=True)
    assert info.id in removed["containers"]
    assert not exists(name) and not os.path.exists(cert_dir)


def test_a_reused_daemon_that_stopped_is_replaced_and_the_new_one_says_why(key: str) -> None:
    first = start_in_subprocess(key)
    outer().containers.get(first).stop(timeout=1)
    with pytest.warns(errors.ReuseWarning, match=rf"{first} was exited \(removed\)"):
        d = dind.Dind(IMAGE, reuse=key)
    try:
        assert not d.reused and d.name != first
        assert not exists(first), "the stopped daemon of the key is left"
        assert d.client.ping()
    finally:
        d.close(force=True)


def test_a_stopped_reused_daemon_whose_owner_is_gone_is_reaped(key: str) -> None:
    name = start_in_subprocess(key)
    outer().containers.get(name).stop(timeout=1)  # what a start killed before it ran looks like, too
    assert outer().containers.get(name).id in dind.reap()["containers"]
    assert not exists(name)


def test_certs_that_are_gone_or_belong_to_another_daemon_are_not_used(key: str) -> None:
    first = start_in_subprocess(key)
    cert_dir = Path(outer().containers.get(first).labels["dind.cert-path"])
    # Another daemon's client certs in its place: refused by the CA check, before any TLS handshake.
    with dind.Dind(IMAGE) as stranger:
        for f in ("ca.pem", "cert.pem", "key.pem"):
            (cert_dir / f).chmod(0o600)
            (cert_dir / f).write_bytes((Path(stranger.cert_path) / f).read_bytes())
    with pytest.warns(errors.ReuseWarning, match=r"its CA \(/certs/server/ca\.pem\) is not the one in"):
        d = dind.Dind(IMAGE, reuse=key)
    assert not d.reused and exists(first), "a daemon whose certs are merely mismatched may serve someone else"
    d.close(force=True)
    for f in cert_dir.iterdir():
        f.unlink()
    with pytest.warns(errors.ReuseWarning, match=r"did not serve .*certs are gone: removed"):
        d = dind.Dind(IMAGE, reuse=key)
    try:
        assert not d.reused and not exists(first)
    finally:
        d.close(force=True)


def test_the_state_directory_is_private(key: str, tmp_path: Path) -> None:
    d = dind.Dind(IMAGE, reuse=key)
    try:
        reuse_dir = Path(os.environ["DIND_STATE_DIR"]) / "reuse"
        assert stat.S_IMODE(reuse_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(os.stat(d.dir).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(os.path.join(d.cert_path, "key.pem")).st_mode) == 0o600
    finally:
        d.close(force=True)
    shared = tmp_path / "shared"
    (shared / "reuse").mkdir(parents=True)
    (shared / "reuse").chmod(0o755)
    os.environ["DIND_STATE_DIR"] = str(shared)  # the fixture's monkeypatch restores it
    with pytest.raises(errors.DockerException, match=r"reuse is not a private directory of this user"):
        dind.Dind(IMAGE, reuse=key)
    assert daemons_of(key) == [], "a refused start left a container"


def test_cli_up_reuse_attaches_and_prune_reused_ends_it(key: str) -> None:
    up = cli("up", "--image", IMAGE, "--reuse", key)
    assert up.returncode == 0, up.stderr
    again = cli("up", "--image", IMAGE, "--reuse", key)
    assert again.returncode == 0, again.stderr
    assert again.stdout == up.stdout, "the second `dind up --reuse` must print the same daemon's env"
    [d] = daemons_of(key)
    ls = cli("ls")
    assert any(d.name in line and key in line for line in ls.stdout.splitlines()), ls.stdout
    assert cli("prune").returncode == 0 and exists(d.name)
    pruned = cli("prune", "--reused")
    assert pruned.returncode == 0 and d.name in pruned.stdout, pruned.stdout + pruned.stderr
    assert not exists(d.name)


# -- caches -------------------------------------------------------------------------------------------------------
def test_a_cache_keeps_images_for_the_next_daemon(cache: str) -> None:
    with dind.Dind(IMAGE, cache=cache) as d:
        d.load_images(["busybox:latest"])
    assert volume_exists(cache), "the cache went with the daemon"
    [listed] = [c for c in dind.list_caches() if c["name"] == cache]
    assert listed["users"] == [] and listed["created"] > 0
    assert cache not in dind.reap(everything=False)["volumes"]
    with dind.Dind(IMAGE, cache=cache) as d:
        tags = [t for i in d.client.images.list() for t in i.tags]
        assert "busybox:latest" in tags, tags
        assert d.client.containers.run("busybox:latest", ["echo", "cached"], remove=True) == b"cached\n"
    assert dind.remove_cache(cache) and not volume_exists(cache)
    assert dind.remove_cache(cache) is False


def test_a_busy_cache_is_refused_naming_its_daemon_and_leaves_nothing(cache: str) -> None:
    with dind.Dind(IMAGE, cache=cache) as holder:
        with pytest.raises(errors.DaemonStartError, match=rf"cache volume {cache} is in use by container "
                                                          rf"{holder.name}"):
            dind.Dind(IMAGE, cache=cache)
        users = outer().containers.list(all=True, filters={"volume": [cache]})
        assert [c.name for c in users] == [holder.name], "the refused start left its container"
        with pytest.raises(errors.DockerException, match=rf"in use by {holder.name}"):
            dind.remove_cache(cache)
    assert volume_exists(cache)


def test_bad_cache_names_and_foreign_volumes_are_refused(cache: str) -> None:
    for bad in ("/var/lib/docker", "../x", "a:b"):
        with pytest.raises(errors.DockerException, match="is not a volume name"):
            dind.Dind(IMAGE, cache=bad)
    with pytest.raises(errors.DockerException, match="both claim /var/lib/docker"):
        dind.Dind(IMAGE, cache=cache, mounts=[f"{cache}-x:/var/lib/docker"])
    outer().volumes.create(cache)  # a volume dind did not make
    with pytest.raises(errors.DockerException, match="is not a dind cache"):
        dind.remove_cache(cache)


def test_cli_cache_ls_and_rm(cache: str) -> None:
    up = cli("run", "--image", IMAGE, "--cache", cache, "--", "true")
    assert up.returncode == 0, up.stderr
    ls = cli("cache", "ls")
    assert ls.returncode == 0 and any(line.split()[0] == cache for line in ls.stdout.splitlines()[1:]), ls.stdout
    rm = cli("cache", "rm", cache, f"{cache}-none")
    assert rm.returncode == 1, rm.stdout + rm.stderr
    assert f"removed cache {cache}" in rm.stdout and f"no cache named '{cache}-none'" in rm.stderr
    assert not volume_exists(cache)
