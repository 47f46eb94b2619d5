"""The dind command (python -m dind), run in subprocesses against the machine's engine with the offline dind image.

Each test runs with its own ``DIND_SESSION``: everything the CLI starts carries ``dind.session=<that id>`` and the
``session`` fixture removes what is left (containers with volumes, cert dirs), failing the test if anything was.
"""
from __future__ import annotations

import argparse
import json
import os
import pty
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import dind
from dind.cli import export_lines, parse_duration
from helpers import exists as _exists, exports as _exports, outer as _outer, owned_by_this_session
from helpers import purge as _purge
from helpers import volume_exists as _volume_exists, volumes_of as _volumes_of

DIND_IMAGE = "dind-offline:latest"
TIMEOUT = 300  # a safety net for a hung command, not a performance bound


def _wait_for(predicate, what: str, proc: "subprocess.Popen | None" = None) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"the process ended (status {proc.returncode}) before {what}: {out}")
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


CLI = [sys.executable, "-m", "dind"]


def cli(*args: str, env: "Dict[str, str] | None" = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, offline_images: tuple) -> Iterator[str]:
    sid = f"h6-cli-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DIND_SESSION", sid)
    # Subprocesses import the very dind package these tests import (installed, or a build tree on PYTHONPATH).
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    yield sid
    leftovers = _purge(sid)
    assert not leftovers, f"the test left dind containers behind: {leftovers}"


@pytest.fixture
def name(session: str) -> str:
    return f"{session}-d"


# -- the life of a daemon -----------------------------------------------------------------------------------------
def test_up_env_docker_ls_down(session: str, name: str) -> None:
    up = cli("up", "--name", name, "--image", DIND_IMAGE)
    assert up.returncode == 0, up.stderr
    assert up.stderr == ""  # not a terminal: no progress chatter
    env = _exports(up.stdout)
    assert set(env) == {"DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}
    assert env["DOCKER_HOST"].startswith("tcp://127.0.0.1:") and env["DOCKER_TLS_VERIFY"] == "1"
    certs = env["DOCKER_CERT_PATH"]
    assert sorted(os.listdir(certs)) == ["ca.pem", "cert.pem", "key.pem"]
    volumes = _volumes_of(name)

    again = cli("env", name)
    assert again.returncode == 0, again.stderr
    assert _exports(again.stdout) == env

    # The real docker CLI takes the printed environment as is.
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], env={**os.environ, **env},
                            capture_output=True, text=True, timeout=60)
    assert docker.returncode == 0, docker.stderr
    assert docker.stdout.strip()
    # ... and so does a shell that evals it.
    shell = subprocess.run(["sh", "-c", f'eval "$({" ".join(CLI)} env {name})" && docker info --format ok'],
                           capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0 and shell.stdout.strip() == "ok", shell.stderr

    ls = cli("ls")
    assert ls.returncode == 0, ls.stderr
    assert ls.stdout.splitlines()[0].split() == ["NAME", "STATUS", "REACH", "HOST", "OWNER", "CREATED", "REUSE", "ENGINE"]
    row = next(line for line in ls.stdout.splitlines() if line.startswith(name + " "))
    assert "running" in row and " loopback " in row and env["DOCKER_HOST"] in row
    # Owned by the terminal session (or CI job) the tests run in, which lives on: not `dind up`'s own parent.
    assert owned_by_this_session(int(row.split()[4])), row
    assert name in cli("ls", "-q").stdout.split()

    down = cli("down", name)
    assert down.returncode == 0, down.stderr
    assert not _exists(name)
    assert not any(_volume_exists(v) for v in volumes)
    assert not os.path.exists(certs)
    assert name not in cli("ls", "-q").stdout.split()


def test_run_exits_with_the_command_status_and_leaves_nothing(session: str, name: str) -> None:
    script = ("docker version --format '{{.Server.Version}}' >/dev/null && "
              "docker run --rm busybox:latest echo inner-$DOCKER_TLS_VERIFY && exit 7")
    proc = cli("run", "--name", name, "--image", DIND_IMAGE, "--load", "busybox:latest", "--", "sh", "-c", script)
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "inner-1"
    assert not _exists(name)


def test_run_docker_version_exits_0_and_shows_progress_on_a_terminal(session: str, name: str) -> None:
    # stderr is a terminal here (a pty), so the long steps show progress there; stdout stays the command's.
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([*CLI, "run", "--name", name, "--image", DIND_IMAGE, "--", "docker", "version"],
                              stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, text=True,
                              timeout=TIMEOUT)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            chunks.append(data)
        progress = b"".join(chunks).decode(errors="replace")
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    assert proc.returncode == 0, progress
    assert "Server:" in proc.stdout
    assert f"dind: {name} ready on tcp://127.0.0.1:" in progress
    assert f"dind: removing {name}" in progress
    assert not _exists(name)


def test_sigterm_to_run_stops_the_command_and_tears_down(session: str, name: str, tmp_path: Path) -> None:
    started = tmp_path / "started"
    proc = subprocess.Popen([*CLI, "run", "--name", name, "--image", DIND_IMAGE, "--", "sh", "-c",
                             f"touch {started}; exec sleep 600"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        _wait_for(started.exists, "the command started", proc)
        certs = _outer().containers.get(name).labels["dind.cert-path"]
        assert os.path.isdir(certs)
        _sigterm_ends_run_and_leaves_nothing(proc, name, certs)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_while_run_is_starting_the_daemon_leaves_nothing(session: str, name: str) -> None:
    proc = subprocess.Popen([*CLI, "run", "--name", name, "--image", DIND_IMAGE, "--", "sleep", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        _wait_for(lambda: _exists(name), "the dind container was created", proc)
        certs = _outer().containers.get(name).labels["dind.cert-path"]
        # Usually before the daemon is ready; at worst it reaches `sleep`.
        _sigterm_ends_run_and_leaves_nothing(proc, name, certs)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _sigterm_ends_run_and_leaves_nothing(proc: "subprocess.Popen[str]", name: str, certs: str) -> None:
    """SIGTERM to `dind run`: it exits 128+15, and its container and cert dir are gone."""
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 128 + signal.SIGTERM, out
    assert not _exists(name)
    assert not os.path.exists(certs)


def test_prune_removes_a_daemon_whose_owner_was_killed(session: str, name: str, tmp_path: Path) -> None:
    # `dind up` makes the calling shell the owner; kill that shell with SIGKILL and the daemon is an orphan.
    out = tmp_path / "env"
    cmd = f"{' '.join(CLI)} up --name {name} --image {DIND_IMAGE} > {out}.tmp && mv {out}.tmp {out}; sleep 600"
    owner = subprocess.Popen(["sh", "-c", cmd], start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        _wait_for(out.exists, "dind up printed the env", owner)
        certs = _exports(out.read_text())["DOCKER_CERT_PATH"]
        volumes = _volumes_of(name)
        # prune spares a daemon whose owner lives ...
        kept = cli("prune")
        assert kept.returncode == 0, kept.stderr
        assert _exists(name)
    finally:
        os.killpg(owner.pid, signal.SIGKILL)
        owner.wait()
    # ... and removes it once the owner is gone.
    pruned = cli("prune")
    assert pruned.returncode == 0, pruned.stderr
    assert f"removed container {name}" in pruned.stdout
    assert not _exists(name)
    assert not any(_volume_exists(v) for v in volumes)
    assert not os.path.exists(certs)


# -- bad input: one clear line on stderr, non-zero status ---------------------------------------------------------
@pytest.mark.parametrize("command", ["env", "down"])
def test_an_unknown_daemon_is_a_clear_error(session: str, command: str) -> None:
    proc = cli(command, f"{session}-no-such-daemon")
    assert proc.returncode == 1
    assert proc.stderr == (f"dind {command}: error: no dind daemon named '{session}-no-such-daemon' on "
                           f"unix:///var/run/docker.sock (see `dind ls`)\n")


@pytest.mark.parametrize("args, message", [
    (["prune", "--older-than", "5x"], "argument --older-than: invalid duration '5x'"),
    (["prune", "--older-than", "0m"], "must be greater than zero"),
    (["up", "--port", "99999"], "argument --port: invalid port '99999'"),
    (["up", "--timeout", "-1"], "argument --timeout: invalid timeout '-1'"),
    (["run", "--image", DIND_IMAGE], "give the command to run after --"),
    (["down"], None),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_usage_errors(args: List[str], message: "str | None") -> None:
    proc = cli(*args)
    if message is None:  # `down` without names: not an argparse error, but still a clear one
        assert proc.returncode == 1 and "name a daemon to remove" in proc.stderr
        return
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stdout == ""


def test_an_image_that_is_missing_and_not_pullable(session: str, name: str) -> None:
    proc = cli("run", "--name", name, "--image", f"{session}-missing:nope", "--", "true")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("dind run: error: ") and f"{session}-missing:nope" in lines[0], proc.stderr
    assert not _exists(name)


def test_an_absent_engine_is_a_clear_error() -> None:
    proc = cli("ls", env={"DOCKER_HOST": "unix:///nonexistent/dind-test.sock"})
    assert proc.returncode == 1
    assert proc.stderr.startswith("dind ls: error: ") and "/nonexistent/dind-test.sock" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_every_command_has_help() -> None:
    for command in ("up", "env", "ls", "down", "prune", "run"):
        proc = cli(command, "--help")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith(f"usage: dind {command}"), proc.stdout
    top = cli("--help")
    assert top.returncode == 0 and all(c in top.stdout for c in ("up", "env", "ls", "down", "prune", "run"))


# -- pieces, in-process -------------------------------------------------------------------------------------------
def test_parse_duration() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("90s") == 90
    assert parse_duration("30m") == 1800
    assert parse_duration("2h") == 7200
    assert parse_duration("1d") == 86400
    assert parse_duration("1h30m") == 5400
    assert parse_duration("1.5h") == 5400
    for bad in ("", "h", "5x", "-1h", "1h 30m", "0", "0s"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_duration(bad)


def test_export_lines_quote_and_unset() -> None:
    assert export_lines({"DOCKER_HOST": "tcp://127.0.0.1:1", "DOCKER_TLS_VERIFY": "1",
                         "DOCKER_CERT_PATH": "/tmp/a b"}) == [
        "export DOCKER_HOST=tcp://127.0.0.1:1", "export DOCKER_TLS_VERIFY=1", "export DOCKER_CERT_PATH='/tmp/a b'"]
    # Without TLS, a shell's earlier TLS variables would break the docker CLI: unset them.
    assert export_lines({"DOCKER_HOST": "tcp://127.0.0.1:2"}) == [
        "export DOCKER_HOST=tcp://127.0.0.1:2", "unset DOCKER_TLS_VERIFY DOCKER_CERT_PATH"]


def test_the_session_leader_stands_in_when_getsid_cannot_see_it() -> None:
    """A CI agent's session may begin outside the job's pid namespace: getsid answers 0 there. Then the topmost
    ancestor still in that session owns what `dind up` starts, not pid 1 and not `dind up`'s own short-lived parent.
    Rebuilt here with a real pid namespace: sh (pid 1) -> sh (pid 2) -> python (pid 3)."""
    code = ("import json, os; from dind.cli import session_leader_labels; "
            "print(json.dumps([os.getsid(0), os.getpid(), session_leader_labels()]))")
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    inner = '"$PY" -c "$CODE"; exit $?'  # the trailing command keeps sh from exec-ing python in its place
    outer_sh = f"sh -c {shlex.quote(inner)}; exit $?"
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "sh", "-c", outer_sh],
                          env={**os.environ, "PY": sys.executable, "CODE": code, "PYTHONPATH": package_parent},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    sid, pid, labels = json.loads(proc.stdout)
    assert (sid, pid) == (0, 3)
    assert labels["dind.owner-pid"] == "2" and labels["dind.owner-start"].isdigit()
