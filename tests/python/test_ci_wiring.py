"""The test infrastructure of jobs.py, proved with the real engine and real programs: what the library's reach tests
stand on. A CI job container with the engine's socket runs this checkout's wheel (module, console script, pytest
plugin); a job beside a dind service reaches it as ``docker`` over TLS, down to a privileged dind three levels deep;
the docker CLI reaches this machine's engine over ssh:// through the test sshd. Each test leaves nothing behind.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Dict, Iterator

import pytest

import jobs
from jobs import run_in_job

TIMEOUT = 120  # a safety net for a hung job or CLI, not a performance bound


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    """After each test: no job container or network of this process is left on the engine."""
    yield
    left = jobs.leftovers(jobs.JOB_LABEL)
    assert left == [], f"jobs left containers or networks behind: {left}"


def wheel_record(wheel: Path) -> Dict[str, str]:
    """path → ``sha256=...`` of every file in the wheel (its RECORD)."""
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
        return {row[0]: row[1] for row in csv.reader(io.TextIOWrapper(z.open(name))) if len(row) > 1 and row[1]}


# -- a job with the engine's socket mounted ------------------------------------------------------------------------
def test_socket_job_runs_the_wheel_against_the_engine(job_image: str) -> None:
    code, out = run_in_job(job_image, 'python3 -c "import dind; print(dind.from_env().ping(), dind.__file__)"',
                           timeout=TIMEOUT)
    assert code == 0, out
    ping, path = out.split()
    assert ping == "True", out
    assert path.startswith("/usr/local/lib/python3") and "/dist-packages/dind/" in path, out
    assert not path.startswith(str(jobs.REPO)), out


def test_socket_job_has_the_very_wheel_build_sh_made(job_image: str) -> None:
    want = {p: h for p, h in wheel_record(jobs.find_wheel()).items() if p.startswith("dind/")}
    assert any(p.startswith("dind/_core") for p in want), want
    code, out = run_in_job(job_image, ["python3", "-c", "from importlib import metadata; "
                                       "print(metadata.distribution('dind').read_text('RECORD'))"], timeout=TIMEOUT)
    assert code == 0, out
    have = {row[0]: row[1] for row in csv.reader(io.StringIO(out)) if len(row) > 1}
    assert {p: have.get(p) for p in want} == want


def test_socket_job_has_the_console_script(job_image: str) -> None:
    code, out = run_in_job(job_image, "command -v dind; dind --version", timeout=TIMEOUT)
    assert code == 0, out
    assert out.splitlines() == ["/usr/local/bin/dind", "dind 0.1.0"], out


def test_socket_job_pytest_loads_the_plugin(job_image: str) -> None:
    code, out = run_in_job(job_image, "pytest -VV 2>&1", timeout=TIMEOUT)
    assert code == 0, out
    assert "dind-0.1.0 at /usr/local/lib/python3.11/dist-packages/dind/pytest_plugin.py" in out, out
    # And a real run of a test file put into the job, with the plugin's options registered.
    test_file = b"import dind\n\ndef test_in_job(pytestconfig):\n    assert pytestconfig.getoption('--dind-image')\n"
    code, out = run_in_job(job_image, "cd /job && pytest -q -p no:cacheprovider test_in_job.py",
                           files={"/job/test_in_job.py": test_file}, timeout=TIMEOUT)
    assert code == 0, out
    assert "1 passed" in out, out


# -- jobs, helpers ----------------------------------------------------------------------------------------------
def test_run_in_job_puts_files_and_returns_combined_output(job_image: str, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data").write_bytes(b"from a host dir\n")
    script = b"#!/bin/sh\necho out; echo err >&2; cat /in/dir/sub/data; exit 7\n"
    code, out = run_in_job(job_image, "/in/run.sh", socket=False, files={"/in/run.sh": script, "/in/dir": tmp_path},
                           environment={"GREETING": "hi"}, timeout=TIMEOUT)
    assert code == 7, out
    lines = out.splitlines()
    # Each stream in order; how the two interleave is as the engine's log recorded them (not always as written).
    assert [x for x in lines if x != "err"] == ["out", "from a host dir"] and lines.count("err") == 1, out
    code, out = run_in_job(job_image, ["sh", "-c", 'echo "$GREETING"; test -S /var/run/docker.sock || echo no-sock'],
                           socket=False, environment={"GREETING": "hi"}, timeout=TIMEOUT)
    assert (code, out) == (0, "hi\nno-sock\n")


def test_run_in_job_timeout_kills_and_says_so(job_image: str) -> None:
    with pytest.raises(jobs.JobTimeout, match=r"did not end within 2 s and was killed; its output so far:\nbefore") \
            as info:
        run_in_job(job_image, "echo before; sleep 60", timeout=2)
    assert info.value.output == "before\n"


def test_job_image_fails_without_a_wheel(offline_images: tuple, tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"no dind wheel in .*run scripts/build\.sh"):
        jobs.job_image_or_fail(tmp_path)


def test_job_image_is_reused_for_the_same_wheel_and_base(job_image: str) -> None:
    engine = jobs.outer()
    wheel = jobs.find_wheel()
    labels = engine.images.get(job_image).labels
    assert labels[jobs.WHEEL_LABEL] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert job_image == jobs.job_image_tag(wheel, labels[jobs.BASE_LABEL])
    # Computed again (the base may have been rebuilt since the session began: then a new tag, made once).
    first = jobs.build_job_image()
    t0 = time.monotonic()
    assert jobs.build_job_image() == first
    assert time.monotonic() - t0 < 5, "an unchanged wheel and base must reuse the image, not rebuild it"
    tags = {t for i in engine.images.list(filters={"label": [f"{jobs.CHECKOUT_LABEL}={jobs.CHECKOUT_ID}"]})
            for t in i.tags}
    assert tags == {job_image, first}, "stale job image tags of this checkout were left"


# -- a job beside a dind service -------------------------------------------------------------------------------
def service_job(svc: jobs.DindService, image: str, command: str, timeout: float = TIMEOUT):
    return run_in_job(image, command, socket=False, network=svc.network, environment=svc.env, files=svc.files,
                      timeout=timeout)


def test_service_job_reaches_the_service_as_docker(job_image: str, dind_service: jobs.DindService) -> None:
    code, out = service_job(dind_service, job_image, "env | grep -E '^DOCKER_(HOST|TLS_VERIFY|CERT_PATH)=' | sort; "
                            "ls /certs/client; "
                            "docker version --format 'server {{.Server.Version}}'; docker info --format 'id {{.ID}}'")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[:3] == ["DOCKER_CERT_PATH=/certs/client", "DOCKER_HOST=tcp://docker:2376", "DOCKER_TLS_VERIFY=1"]
    assert lines[3:6] == ["ca.pem", "cert.pem", "key.pem"]
    service = dind_service.daemon.client
    assert lines[6] == f"server {service.version()['Version']}"
    assert lines[7] == f"id {service.info()['ID']}"
    assert service.info()["ID"] != jobs.outer().info()["ID"]


def test_service_job_runs_a_container_in_the_service(job_image: str, dind_service: jobs.DindService) -> None:
    code, out = service_job(dind_service, job_image, "docker run --rm busybox echo hi")
    assert (code, out) == (0, "hi\n")
    assert dind_service.daemon.client.containers.list(all=True) == []


def test_privileged_dind_three_levels_deep(job_image: str, dind_service: jobs.DindService) -> None:
    """machine engine → service → a privileged dind-offline: it starts, its dockerd answers, and it is still running
    seconds later (the runtime wrapper reached the service's dockerd). Without the wrapper (plain runc) the same
    --privileged run fails on this kind of machine: the wrapper is what makes the difference."""
    script = r"""
set -eu
id=$(docker run --privileged -d dind-offline:latest)
trap 'docker rm -f -v "$id" >/dev/null' EXIT
answered=none
for _ in $(seq 1 150); do
  if answered=$(docker exec "$id" docker version --format '{{.Server.Version}}' 2>/dev/null); then break; fi
  answered=none
  sleep 0.2
done
echo "inner dockerd: $answered"
sleep 3
docker inspect -f 'running={{.State.Running}}' "$id"
if docker run --rm --privileged --runtime runc busybox true 2>/tmp/err; then echo "runc: ok"; else
  echo "runc: failed: $(tr '\n' ' ' </tmp/err)"; fi
"""
    code, out = service_job(dind_service, job_image, script)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"inner dockerd: {dind_service.daemon.client.version()['Version']}", out
    assert lines[1] == "running=true", out
    if dind_service.runtime_wrapper:
        assert lines[2].startswith("runc: failed: "), out
        assert "unable to apply caps: operation not permitted" in lines[2], out
    assert dind_service.daemon.client.containers.list(all=True) == []


# -- over ssh:// -----------------------------------------------------------------------------------------------
def docker_cli(*args: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL)


def test_docker_cli_over_ssh_reaches_this_engine(sshd: jobs.Sshd) -> None:
    home_ssh = Path.home() / ".ssh"
    before = sorted(os.listdir(home_ssh)) if home_ssh.exists() else None
    env = sshd.env()
    env.pop("DOCKER_HOST", None)
    env.pop("DOCKER_CONTEXT", None)
    r = docker_cli("-H", sshd.url, "info", "--format", "{{.ID}} {{.ServerVersion}}", env=env)
    assert r.returncode == 0, r.stderr
    engine = jobs.outer()
    assert r.stdout == f"{engine.info()['ID']} {engine.version()['Version']}\n"
    r = docker_cli("-H", sshd.url, "version", "--format", "{{.Server.Version}}", env=env)
    assert (r.returncode, r.stdout) == (0, f"{engine.version()['Version']}\n"), r.stderr
    assert (sorted(os.listdir(home_ssh)) if home_ssh.exists() else None) == before, "root's ~/.ssh changed"


def test_docker_cli_over_ssh_to_a_closed_port_fails_with_ssh_s_reason(sshd: jobs.Sshd) -> None:
    port = jobs.free_port()
    r = docker_cli("-H", f"ssh://root@127.0.0.1:{port}", "version", "--format", "{{.Server.Version}}",
                   env=sshd.env())
    assert r.returncode != 0
    assert f"ssh: connect to host 127.0.0.1 port {port}: Connection refused" in r.stderr, r.stderr


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def test_sshd_stops_with_its_sessions_and_leaves_no_files() -> None:
    with jobs.sshd() as server:
        held = subprocess.Popen(["ssh", "-p", str(server.port), "root@127.0.0.1", "sleep 120"], env=server.env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while not any(_cmdline(p).startswith(b"sleep") for p in jobs._descendants(server.pid)):
                assert time.monotonic() < deadline, "the held ssh session did not start"
                time.sleep(0.05)
            sessions = jobs._descendants(server.pid)
        except BaseException:
            held.kill()
            held.wait()
            raise
        tmp = server.key.parent
    assert held.wait(timeout=10) != 0  # its connection was closed by the server going away
    assert not any(jobs._alive(p) for p in [server.pid, *sessions])
    assert not tmp.exists()
