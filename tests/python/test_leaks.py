"""Nothing left behind, whatever happens: a start killed (SIGKILL) at many points, SIGTERM during the first Dind() of
a process, close() from several threads at once, the README's CLI block (and a daemon inside a daemon made by
dind up), and a soak of starts and teardowns with fds, threads, RSS, temp files and engine objects flat.

DIND_SOAK=N scales the soak (N cycles, and N×3 in parallel); CI runs the small default.
"""
from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

import dind
import jobs
from helpers import outer, purge

IMAGE = "dind-offline:latest"
TIMEOUT = 300  # a safety net, not a performance bound
SOAK = int(os.environ.get("DIND_SOAK", "3"))


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, offline_images: tuple) -> Iterator[str]:
    """A DIND_SESSION and a TMPDIR of the test's own (where private directories go), both checked empty after."""
    sid = f"test-leaks-{uuid.uuid4().hex[:10]}"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("DIND_SESSION", sid)
    monkeypatch.setenv("TMPDIR", str(tmp))
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    yield sid
    assert purge(sid) == [], "the test left dind containers behind"
    assert list(tmp.iterdir()) == [], "the test left files behind"


def _made(session: str) -> List[dind.Client]:
    # ignore_removed: a reap that another test starts may remove a dead owner's container in between.
    return outer().containers.list(all=True, filters={"label": [f"dind.session={session}"]}, ignore_removed=True)


def _anonymous_volumes(containers: List) -> List[str]:
    return [m["Name"] for c in containers for m in c.attrs.get("Mounts", []) if m.get("Type") == "volume"]


START = f"import dind\nd = dind.Dind({IMAGE!r}, start_timeout=120)\nprint('ready', flush=True)\nimport time\ntime.sleep(60)\n"


def _start_process(env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", START], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_sigkill_anywhere_in_a_start_then_prune_leaves_nothing(session: str) -> None:
    # Points spread over a whole start, from before the engine is asked anything to after it is ready.
    ready = _timed_start()
    points = [round(ready * 1.2 * i / 23, 3) for i in range(24)]
    env = dict(os.environ)
    seen = []
    for delay in points:
        p = _start_process(env)
        time.sleep(delay)
        p.kill()
        p.wait(timeout=TIMEOUT)
        tmp = Path(os.environ["TMPDIR"])
        made = _made(session)
        seen.append(f"{delay:.3f}s: {len(made)} container(s), {len(list(tmp.iterdir()))} dir(s)")
        volumes = _anonymous_volumes(made)
        prunes = _prune_until_settled(env, session)
        if prunes > 1:
            seen[-1] += f" (a create still under way in the engine: {prunes} prunes)"
        assert _made(session) == [], f"prune left a container (killed at {delay}s)"
        assert list(tmp.iterdir()) == [], f"prune left {list(tmp.iterdir())} (killed at {delay}s)"
        for v in volumes:
            assert not any(x.name == v for x in outer().volumes.list()), f"prune left volume {v} (killed at {delay}s)"
    print("\n".join(["SIGKILL points (seconds after the process started: what it had made)"] + seen))
    # The sweep reached every phase: some kills left nothing yet, some a directory only, some a container too.
    assert any(" 0 container(s), 0 dir(s)" in s for s in seen)
    assert any(" 1 container(s)" in s for s in seen)


def _prune_until_settled(env: Dict[str, str], session: str) -> int:
    """Runs ``dind prune`` until nothing of the session is left, at most 3 times; returns how many it took.

    A SIGKILLed client may have sent a create that the engine is still carrying out when the first prune lists:
    that container appears only afterwards, with its dead owner's labels, and the next prune removes it."""
    for attempt in range(1, 4):
        prune = subprocess.run([sys.executable, "-m", "dind", "prune"], capture_output=True, text=True, env=env,
                               timeout=TIMEOUT)
        assert prune.returncode == 0, prune.stderr
        if not _made(session):
            return attempt
    return attempt


def _timed_start() -> float:
    t0 = time.monotonic()
    p = _start_process(dict(os.environ))
    try:
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.strip() == "ready", (line, p.stderr.read() if p.stderr else "")
        return time.monotonic() - t0
    finally:
        p.terminate()
        p.wait(timeout=TIMEOUT)


def test_sigterm_during_the_first_dind_of_a_process_leaves_nothing(session: str) -> None:
    ready = _timed_start()
    assert _made(session) == []  # the SIGTERM above (after ready) tore it down too
    tmp = Path(os.environ["TMPDIR"])
    for i in range(8):
        delay = ready * (0.1 + 0.8 * i / 7)
        p = _start_process(dict(os.environ))
        time.sleep(delay)
        p.terminate()
        p.wait(timeout=TIMEOUT)
        assert p.returncode in (-signal.SIGTERM, 0), (p.returncode, p.stderr.read() if p.stderr else "")
        assert _made(session) == [], f"SIGTERM at {delay:.2f}s left a container"
        assert list(tmp.iterdir()) == [], f"SIGTERM at {delay:.2f}s left {list(tmp.iterdir())}"


def test_close_from_several_threads_at_once(session: str) -> None:
    for _ in range(3):
        d = dind.Dind(IMAGE)
        barrier = threading.Barrier(4)
        failures: List[BaseException] = []

        def close() -> None:
            barrier.wait()
            try:
                d.close()
            except BaseException as e:  # noqa: BLE001 - reported below
                failures.append(e)

        threads = [threading.Thread(target=close) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert d.closed


def test_the_readme_cli_block_and_a_daemon_inside_one(session: str) -> None:
    wrapper = jobs.engine_runtime_wrapper()
    nested = (f"--mount {wrapper}:{wrapper}:ro --dockerd-arg=--add-runtime=capfix={wrapper} "
              "--dockerd-arg=--default-runtime=capfix" if wrapper else "")
    script = textwrap.dedent(f"""\
        set -eu
        export DIND_IMAGE={IMAGE}
        # The README's CLI block:
        eval "$(dind up --name {session}-ci --load busybox:latest --load {IMAGE} {nested})"
        docker run --rm busybox echo hi
        dind env {session}-ci >/dev/null; dind ls | grep -q '^{session}-ci '
        # A daemon inside it: dind up in this shell starts it on ci (DOCKER_HOST names ci now).
        eval "$(dind up --name {session}-inner)"
        docker run --rm busybox echo inner 2>/dev/null || docker info --format 'inner {{{{.Name}}}}'
        dind ls | grep -q '^{session}-inner '; dind ls | grep -q '^{session}-ci '
        dind down {session}-inner
        dind down {session}-ci
        echo done
    """)
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "hi" and lines[-1] == "done", r.stdout + r.stderr
    assert lines[1].startswith("inner"), r.stdout + r.stderr


def _process_figures() -> Dict[str, int]:
    fds = len(os.listdir("/proc/self/fd"))
    status = Path("/proc/self/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return {"fds": fds, "threads": threading.active_count(), "native_threads": len(os.listdir("/proc/self/task")),
            "rss_kb": rss}


def test_soak_starts_and_teardowns_stay_flat(session: str) -> None:
    tmp = Path(os.environ["TMPDIR"])
    with dind.Dind(IMAGE):  # the first start loads what stays loaded (extension, pools)
        pass
    before = _process_figures()
    engine_before = (len(outer().containers.list(all=True)), len(outer().volumes.list()))
    for _ in range(SOAK):
        with dind.Dind(IMAGE) as d:
            assert d.client.ping()
    for _ in range(SOAK):
        daemons: List[dind.Dind] = []
        threads = [threading.Thread(target=lambda: daemons.append(dind.Dind(IMAGE))) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(daemons) == 3 and all(d.client.ping() for d in daemons)
        for d in daemons:
            d.close()
        daemons.clear()
    del d  # a live handle keeps its engine's idle connections (4 fds each): only what is gone must leave nothing
    gc.collect()
    after = _process_figures()
    print(f"soak of {SOAK} + {SOAK}x3 starts: {before} -> {after}")
    assert after["fds"] <= before["fds"] + 2, (before, after)
    assert after["threads"] == before["threads"] and after["native_threads"] <= before["native_threads"] + 1
    assert after["rss_kb"] < before["rss_kb"] + 20 * 1024, (before, after)  # 20 MiB: allocator slack, not leaks
    assert list(tmp.iterdir()) == []
    assert (len(outer().containers.list(all=True)), len(outer().volumes.list())) == engine_before
