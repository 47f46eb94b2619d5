"""dind.Job, ``dind job`` and the ``dind_job`` fixture against the real engine: a job container beside a dind sidecar
(reached as ``docker``, workspace at the same path), the host-socket wiring, exit codes, cleanup, and bad input.

The job image is the offline dind image (it has /usr/bin/docker and bash); busybox is preloaded into sidecars. Most
sidecar tests share one sidecar of this module (``Job(dind=...)``); a few start their own.
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import dind
from dind import errors

pytest_plugins = ["pytester"]

IMAGE = "dind-offline:latest"  # job image and sidecar image
TEST_ID = f"test-job-{os.getpid()}"
LABELS = {"dind.test": TEST_ID}
SHARED_LABELS = {"dind.test": TEST_ID + "-shared"}  # the module's sidecar, removed at the module's end
TIMEOUT = 300  # a safety net for a hung subprocess, not a performance bound


def _outer() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


def leftovers(label: str = f"dind.test={TEST_ID}") -> List[str]:
    """Containers (any state) and networks carrying ``label`` that are still on the engine."""
    outer = _outer()
    names = [c.name for c in outer.containers.list(all=True, filters={"label": [label]})]
    names += [n.name for n in outer.networks.list(filters={"label": [label]})]
    return names


class Output:
    """A run() callback that collects stdout and stderr apart."""

    def __init__(self) -> None:
        self.out = b""
        self.err = b""

    def __call__(self, data: bytes, stream: str) -> None:
        if stream == "stderr":
            self.err += data
        else:
            self.out += data

    @property
    def text(self) -> str:
        return (self.out + self.err).decode()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("workspace")
    (ws / "file").write_text("from the workspace\n")
    (ws / "Dockerfile").write_text("FROM busybox:latest\nRUN echo built-in-the-sidecar > /built\n")
    return ws


@pytest.fixture(scope="module")
def sidecar(offline_images: tuple, workspace: Path) -> Iterator[dind.Dind]:
    """One dind daemon shared by this module's sidecar jobs: the workspace mounted at the same path, busybox in it."""
    with dind.Job.sidecar(workspace, IMAGE, labels=SHARED_LABELS) as d:
        d.load_images(["busybox:latest"])
        yield d
    assert leftovers(f"dind.test={SHARED_LABELS['dind.test']}") == []


@pytest.fixture(autouse=True)
def nothing_left() -> Iterator[None]:
    yield
    left = leftovers()
    assert left == [], f"a job left containers or networks behind: {left}"


def job(sidecar: dind.Dind, workspace: Path, command: str, **kwargs) -> dind.Job:
    return dind.Job(command, image=IMAGE, dind=sidecar, workspace=workspace, labels=LABELS, **kwargs)


# -- sidecar wiring ---------------------------------------------------------------------------------------------
def test_job_reaches_the_sidecar_as_docker_over_tls(sidecar: dind.Dind, workspace: Path) -> None:
    out = Output()
    code = job(sidecar, workspace, 'echo "$DOCKER_HOST $DOCKER_TLS_VERIFY $DOCKER_CERT_PATH $PWD"; '
                                   "ls /certs/client; docker version --format 'server={{.Server.Version}}'").run(out)
    assert code == 0, out.text
    lines = out.out.decode().splitlines()
    assert lines[0] == f"tcp://docker:2376 1 /certs/client {os.path.realpath(workspace)}"
    assert {"ca.pem", "cert.pem", "key.pem"} <= set(lines[1:4])
    assert f"server={sidecar.client.version()['Version']}" in lines


def test_docker_run_of_a_preloaded_image(sidecar: dind.Dind, workspace: Path) -> None:
    out = Output()
    assert job(sidecar, workspace, "docker run --rm busybox:latest echo hi").run(out) == 0, out.text
    assert out.out == b"hi\n"


def test_docker_build_from_the_workspace(sidecar: dind.Dind, workspace: Path) -> None:
    out = Output()
    tag = f"job-build-{uuid.uuid4().hex[:8]}"
    code = job(sidecar, workspace, f"docker build -q -t {tag} . >/dev/null && docker run --rm {tag} cat /built",
               environment={"DOCKER_BUILDKIT": "0"}).run(out)
    assert code == 0, out.text
    assert out.out == b"built-in-the-sidecar\n"


def test_bind_mount_of_pwd_sees_the_workspace_file(sidecar: dind.Dind, workspace: Path) -> None:
    out = Output()
    code = job(sidecar, workspace, 'docker run --rm -v "$PWD":/w busybox:latest cat /w/file').run(out)
    assert code == 0, out.text
    assert out.out == b"from the workspace\n"


def test_published_inner_port_answers_at_docker_port(sidecar: dind.Dind, workspace: Path) -> None:
    script = r"""
set -e
docker run -d --name web -p 8080:80 busybox:latest \
  sh -c 'echo hello-from-inner > /i.html && httpd -f -p 80 -h /' >/dev/null
trap 'docker rm -f web >/dev/null' EXIT
for i in $(seq 1 100); do
  if exec 3<>/dev/tcp/docker/8080 2>/dev/null; then
    printf 'GET /i.html HTTP/1.0\r\n\r\n' >&3
    body=$(cat <&3 | tail -n 1)
    exec 3<&-
    if [ "$body" = hello-from-inner ]; then echo "got $body"; exit 0; fi
  fi
  sleep 0.1
done
echo "no answer at docker:8080" >&2
exit 1
"""
    out = Output()
    code = dind.Job(["bash", "-c", script], image=IMAGE, dind=sidecar, workspace=workspace, labels=LABELS).run(out)
    assert code == 0, out.text
    assert b"got hello-from-inner" in out.out


def test_exit_codes_propagate_and_output_is_returned(sidecar: dind.Dind, workspace: Path) -> None:
    j = job(sidecar, workspace, "echo out; echo err >&2; docker run --rm busybox:latest sh -c 'exit 3' || exit 42")
    assert j.run(stream=False) == 42
    assert j.exit_code == 42
    assert sorted(j.output.splitlines()) == [b"err", b"out"]


def test_sidecar_is_shared_by_jobs_and_stays_after_them(sidecar: dind.Dind, workspace: Path) -> None:
    with job(sidecar, workspace, "docker info --format '{{.Name}}'") as j:
        assert j.run(stream=False) == 0
    assert sidecar.client.ping() is True
    # The job's network was disconnected from the sidecar and removed.
    nets = _outer().containers.get(sidecar.id).attrs["NetworkSettings"]["Networks"]
    assert not any(name.startswith("dind-job-") for name in nets), nets


def test_job_image_without_docker_cli_is_refused(sidecar: dind.Dind, workspace: Path) -> None:
    j = dind.Job("true", image="busybox:latest", dind=sidecar, workspace=workspace, labels=LABELS)
    with pytest.raises(errors.DockerException, match=r"busybox:latest has no docker CLI"):
        j.run()


def test_given_sidecar_must_mount_the_workspace(sidecar: dind.Dind, tmp_path: Path) -> None:
    j = dind.Job("true", image=IMAGE, dind=sidecar, workspace=tmp_path, labels=LABELS)
    with pytest.raises(errors.DockerException, match=r"does not mount the job workspace " + str(tmp_path.resolve())):
        j.run()


def test_missing_workspace_is_named(offline_images: tuple, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir"
    with pytest.raises(errors.DockerException, match=f"{missing} does not exist"):
        dind.Job("true", image=IMAGE, workspace=missing)
    with pytest.raises(errors.DockerException, match=f"{missing} does not exist"):
        dind.Job.sidecar(missing, IMAGE)


# -- sidecars the job starts ------------------------------------------------------------------------------------
def test_sidecar_dying_mid_job_fails_with_its_log_and_cleans_up(offline_images: tuple, tmp_path: Path) -> None:
    j = dind.Job("echo started; sleep 120", image=IMAGE, dind_image=IMAGE, workspace=tmp_path, labels=LABELS)
    killed = []

    def on_output(data: bytes, stream: str) -> None:
        if b"started" in data and not killed:
            _outer().containers.get(f"{j.name}-docker").kill()
            killed.append(True)

    with pytest.raises(errors.DockerException) as info:
        j.run(on_output)
    assert killed
    message = str(info.value)
    assert "sidecar" in message and "stopped" in message, message
    assert "--- last lines of the sidecar's log ---" in message, message
    assert leftovers() == []


# -- host socket ------------------------------------------------------------------------------------------------
def test_socket_mode_is_refused_without_the_opt_in(offline_images: tuple) -> None:
    with pytest.raises(errors.DockerException, match="allow_host_socket"):
        dind.Job("docker ps", image=IMAGE, mode="socket")


def test_socket_mode_sees_the_outer_engine_and_warns(offline_images: tuple, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    out = Output()
    name = f"dind-job-sock-{uuid.uuid4().hex[:8]}"
    with caplog.at_level(logging.WARNING, logger="dind.job"):
        j = dind.Job("docker ps --format '{{.Names}}'; exit 9", image=IMAGE, mode="socket",
                     allow_host_socket=True, workspace=tmp_path, name=name, labels=LABELS)
        assert j.run(out) == 9
    assert name in out.out.decode().split(), out.text
    assert any("controls the host's daemon" in r.getMessage() for r in caplog.records)


def test_close_from_another_thread_ends_the_run_and_removes_the_job(offline_images: tuple) -> None:
    j = dind.Job("echo started; sleep 120", image=IMAGE, mode="socket", allow_host_socket=True, labels=LABELS)
    started = threading.Event()

    def on_output(data: bytes, stream: str) -> None:
        if b"started" in data:
            started.set()

    closer = threading.Thread(target=lambda: started.wait(TIMEOUT) and j.close())
    closer.start()
    with pytest.raises(errors.DockerException, match="cancelled"):
        j.run(on_output)
    closer.join()
    assert leftovers() == []


# -- the CLI ----------------------------------------------------------------------------------------------------
@pytest.fixture
def cli_session(monkeypatch: pytest.MonkeyPatch, offline_images: tuple) -> Iterator[str]:
    sid = f"h8-job-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("DIND_SESSION", sid)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    yield sid
    left = leftovers(f"dind.session={sid}")
    for c in _outer().containers.list(all=True, filters={"label": [f"dind.session={sid}"]}):
        c.remove(force=True, v=True)
    for n in _outer().networks.list(filters={"label": [f"dind.session={sid}"]}):
        n.remove()
    assert left == [], f"dind job left containers or networks behind: {left}"


def cli(*args: str, env: "Dict[str, str] | None" = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dind", *args], capture_output=True, text=True, timeout=TIMEOUT,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def test_cli_job_with_a_sidecar_exits_with_the_job_status(cli_session: str, workspace: Path) -> None:
    r = cli("job", "--image", IMAGE, "--dind-image", IMAGE, "--workspace", str(workspace), "--load",
            "busybox:latest", "-e", "GREETING=hello", "-e", "FROM_ENV", "--",
            "sh", "-c", 'echo "$GREETING $FROM_ENV"; docker run --rm -v "$PWD":/w busybox:latest cat /w/file; exit 5',
            env={"FROM_ENV": "passed"})
    assert r.returncode == 5, r.stderr
    assert r.stdout == "hello passed\nfrom the workspace\n", r.stderr


def test_cli_job_with_the_host_socket_warns(cli_session: str) -> None:
    r = cli("job", "--image", IMAGE, "--host-socket", "--", "docker", "version", "--format", "{{.Server.Os}}")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "linux\n"
    assert "controls the host's daemon" in r.stderr


def test_cli_job_sigterm_kills_the_job_and_removes_it(cli_session: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "dind", "job", "--image", IMAGE, "--host-socket", "--",
                             "sh", "-c", "echo started; sleep 120"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        assert leftovers(f"dind.session={cli_session}") != []
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM
    assert leftovers(f"dind.session={cli_session}") == []


def test_cli_job_bad_input(cli_session: str, tmp_path: Path) -> None:
    r = cli("job", "--image", IMAGE, "--workspace", str(tmp_path / "missing"), "--", "true")
    assert r.returncode == 1
    assert f"{tmp_path / 'missing'} does not exist" in r.stderr
    r = cli("job", "--image", "busybox:latest", "--host-socket", "--", "true")
    assert r.returncode == 1
    assert "busybox:latest has no docker CLI" in r.stderr
    r = cli("job", "--image", IMAGE)
    assert r.returncode == 2
    assert "give the job's command" in r.stderr


# -- the pytest fixture -----------------------------------------------------------------------------------------
def test_dind_job_fixture(pytester: pytest.Pytester, cli_session: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_inner="""
        def test_job(dind_job, tmp_path):
            (tmp_path / "f").write_text("in tmp_path")
            job = dind_job('docker run --rm -v "$PWD":/w busybox:latest cat /w/f; exit 4',
                           load_images=["busybox:latest"])
            assert job.workspace == str(tmp_path.resolve())
            assert job.run(stream=False) == 4
            assert job.output == b"in tmp_path"
    """)
    result = pytester.runpytest_subprocess("-p", "dind.pytest_plugin", "--dind-image", IMAGE, "--dind-job-image",
                                           IMAGE, "-p", "no:cacheprovider", timeout=TIMEOUT)
    result.assert_outcomes(passed=1)
