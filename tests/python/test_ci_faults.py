"""Faults where CI really runs dind, a job container with the engine's socket mounted: the job killed mid-run, its
daemon killed under it, and the engine's socket gone from under it. Each error names what failed and where, and what
a dead job leaves is removed by the next reap on the engine (its owner's container no longer runs).
"""
from __future__ import annotations

import time
import uuid
from typing import Iterator

import pytest

import dind
import jobs
from helpers import outer, purge
from jobs import run_in_job

IMAGE = "dind-offline:latest"
TIMEOUT = 240


@pytest.fixture
def session() -> Iterator[str]:
    sid = f"test-ci-faults-{uuid.uuid4().hex[:10]}"
    yield sid
    assert purge(sid) == [], "a daemon started in a job was left behind"
    assert jobs.leftovers(jobs.JOB_LABEL) == []


def _daemons(session: str) -> list:
    return outer().containers.list(all=True, filters={"label": [f"dind.session={session}"]})


def test_a_job_killed_mid_run_leaves_what_the_next_reap_removes(job_image: str, session: str) -> None:
    script = b"import dind, time\nd = dind.Dind('dind-offline:latest')\nprint('ready', d.id, flush=True)\ntime.sleep(300)\n"
    engine = outer()
    job = engine.containers.create(job_image, ["python3", "/job/script.py"], labels={jobs.LABEL: jobs.JOB_LABEL},
                                   environment={"DIND_SESSION": session}, name=f"dind-test-job-{session}",
                                   volumes=["/var/run/docker.sock:/var/run/docker.sock"])
    try:
        job.put_archive("/", jobs.files_tar({"/job/script.py": script}))
        job.start()
        deadline = time.monotonic() + TIMEOUT
        while b"ready" not in job.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        daemon_id = job.logs().decode().split()[1]
        labels = engine.containers.get(daemon_id).labels
        assert labels["dind.owner-container"] == job.id
        assert daemon_id not in dind.reap()["containers"], "reaped while its job still ran"
        job.kill()
        removed = dind.reap()
        assert daemon_id in removed["containers"], removed
        assert _daemons(session) == []
    finally:
        job.remove(force=True, v=True)


def test_a_job_whose_daemon_is_killed_gets_errors_that_name_it_and_cleans_up(job_image: str, session: str) -> None:
    script = b"""
import dind, sys
d = dind.Dind("dind-offline:latest")
d.load_images(["busybox:latest"])
c = d.client.containers.run("busybox:latest", ["sh", "-c", "echo tick; sleep 300"], detach=True)
print("ready", d.id, flush=True)
try:
    for line in c.logs(stream=True, follow=True):
        pass
    d.client.containers.list()
except dind.errors.DockerException as e:
    print("ERROR", d.name in str(e) or d.host.split("//")[-1] in str(e), str(e).splitlines()[0][:300], flush=True)
d.close()
print("closed", d.closed, flush=True)
"""
    engine = outer()
    job = engine.containers.create(job_image, ["python3", "/job/script.py"], labels={jobs.LABEL: jobs.JOB_LABEL},
                                   environment={"DIND_SESSION": session}, name=f"dind-test-job-{session}",
                                   volumes=["/var/run/docker.sock:/var/run/docker.sock"])
    try:
        job.put_archive("/", jobs.files_tar({"/job/script.py": script}))
        job.start()
        deadline = time.monotonic() + TIMEOUT
        while b"ready" not in job.logs() and time.monotonic() < deadline:
            time.sleep(0.1)
        daemon_id = job.logs().decode().split()[1]
        engine.containers.get(daemon_id).kill()
        assert job.wait(timeout=TIMEOUT)["StatusCode"] == 0, job.logs().decode()
        out = job.logs().decode()
        assert "ERROR True" in out and "closed True" in out, out
        assert _daemons(session) == []
    finally:
        job.remove(force=True, v=True)


def test_the_engines_socket_gone_from_under_a_job(job_image: str, session: str) -> None:
    # The job reaches the engine through a relay of its own to the mounted socket, which it then shuts (connections
    # and socket file gone, as when an engine goes away): its daemon's own API still answers (it is dialled on the
    # job's network), the engine's does not, and close() says which socket is gone.
    script = b"""
import os, socket, threading, dind
relay = socket.socket(socket.AF_UNIX)
relay.bind("/tmp/engine.sock")
relay.listen(16)
open_conns = []
def pump(a, b):
    try:
        while (data := a.recv(65536)):
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve():
    while True:
        try:
            c, _ = relay.accept()
        except OSError:
            return
        e = socket.socket(socket.AF_UNIX)
        e.connect("/var/run/docker.sock")
        open_conns.extend([c, e])
        threading.Thread(target=pump, args=(c, e), daemon=True).start()
        threading.Thread(target=pump, args=(e, c), daemon=True).start()
threading.Thread(target=serve, daemon=True).start()
d = dind.Dind("dind-offline:latest", client=dind.Client("unix:///tmp/engine.sock"))
relay.close()
os.remove("/tmp/engine.sock")
for s in open_conns:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
print("inner", d.client.ping(), flush=True)
try:
    d.close()
except dind.errors.DockerException as e:
    print("ERROR", type(e).__name__, str(e).splitlines()[0][:300], flush=True)
"""
    code, out = run_in_job(job_image, "python3 /job/script.py", environment={"DIND_SESSION": session},
                           files={"/job/script.py": script}, timeout=TIMEOUT)
    assert code == 0, out
    assert "inner True" in out, out
    assert "ERROR ConnectionError" in out and "/tmp/engine.sock does not exist" in out, out
    # The job is gone now: what it could not remove goes with the next reap.
    left = [c.id for c in _daemons(session)]
    assert len(left) == 1, out
    assert left[0] in dind.reap()["containers"]
