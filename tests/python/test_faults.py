"""Fault injection against the real engine: an engine restarted under a client's pool, streams
whose container or daemon dies, a dind container killed from outside, a process using dind.Dind killed with SIGKILL,
file descriptors over many calls, and memory under a slow reader of a fast stream.

Nothing here restarts the machine's engine: the restart test runs a private second dockerd on its own socket, data
and exec roots. Everything made on the engine carries ``dind.session=<this module's id>`` and is removed at the end.
Time limits are safety nets against a hang, never asserted durations. Figures go to stdout (``pytest -s``).
``DIND_FAULTS_SCALE=N`` (default 1) multiplies the call counts and the streamed volume for a longer run.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import pytest

import dind
from dind import errors
from helpers import remove_containers

BUSYBOX = "busybox:latest"
DIND_IMAGE = "dind-offline:latest"
SESSION = f"faults-{uuid.uuid4().hex[:10]}"
LABELS = {"dind.session": SESSION}
SAFETY = 120.0  # seconds: a hang fails the test after this, it is no performance bound
STREAM_ERRORS = (errors.StreamError, errors.ConnectionError)
SCALE = max(1, int(os.environ.get("DIND_FAULTS_SCALE", "1")))
SEQUENTIAL, THREADS, PER_THREAD = 1000 * SCALE, 4, 250 * SCALE


def outer() -> dind.Client:
    return dind.Client("unix:///var/run/docker.sock")


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def purge_session(client: dind.Client, session: str) -> List[str]:
    """Removes every container (with its volumes), then every volume, of `session`; returns what was left."""
    containers = client.containers.list(all=True, filters={"label": [f"dind.session={session}"]})
    left = [f"container {name}" for name in remove_containers(containers)]
    for v in client.volumes.list(filters={"label": [f"dind.session={session}"]}):
        try:
            v.remove(force=True)
        except errors.NotFound:
            pass
        left.append(f"volume {v.name}")
    return left


@pytest.fixture(scope="module")
def engine(offline_images: tuple) -> Iterator[dind.Client]:
    client = outer()
    yield client
    left = purge_session(client, SESSION)
    assert not left, f"tests of this module left objects behind: {left}"


@pytest.fixture
def session_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Daemons started by this process carry this module's session label."""
    monkeypatch.setenv("DIND_SESSION", SESSION)
    return SESSION


class Drain:
    """Reads a stream to its end on a thread and records how it ended: "end", or the exception."""

    def __init__(self, name: str, stream: Any, slow: float = 0.0) -> None:
        self.name, self.stream, self.slow = name, stream, slow
        self.chunks = 0
        self.nbytes = 0
        self.outcome: Any = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"drain-{name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for item in self.stream:
                self.chunks += 1
                self.nbytes += len(item) if isinstance(item, (bytes, bytearray)) else 1
                self.started.set()
                if self.slow:
                    time.sleep(self.slow)
            self.outcome = "end"
        except BaseException as e:  # noqa: BLE001 - recorded and judged by the test
            self.outcome = e
        finally:
            self.started.set()

    def wait_started(self) -> None:
        assert self.started.wait(SAFETY), f"{self.name}: no output within {SAFETY} s"
        assert self.outcome is None, f"{self.name} ended before the fault: {self.outcome!r}"

    def finish(self) -> float:
        """Waits for the end (the safety net closes a hung stream and fails); returns seconds waited."""
        t0 = time.monotonic()
        self.thread.join(SAFETY)
        waited = time.monotonic() - t0
        if self.thread.is_alive():
            self.stream.close()
            self.thread.join(10)
            pytest.fail(f"{self.name} still blocked {SAFETY} s after the fault: it hangs")
        return waited

    def judge(self) -> str:
        ok = self.outcome == "end" or isinstance(self.outcome, STREAM_ERRORS)
        assert ok, f"{self.name} ended with {type(self.outcome).__name__}: {self.outcome}"
        return "ended" if self.outcome == "end" else f"{type(self.outcome).__name__}: {self.outcome}"


# ---- a private engine (item 1, and a stream whose daemon dies) ---------------------------------------------------
class PrivateEngine:
    """A second dockerd with its own socket, data root, exec root, containerd and network namespace, killed and
    restarted at will; it never touches the machine engine's bridge, iptables or mounts."""

    def __init__(self) -> None:
        # Short: unix socket paths (ours and containerd's under the exec root) are limited to 108 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="dindf-", dir="/tmp"))
        self.sock = self.root / "docker.sock"
        self.url = f"unix://{self.sock}"
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0

    def start(self) -> float:
        """Starts dockerd (removing the pid file a killed one left) and waits for /_ping; returns seconds taken."""
        pidfile = self.root / "docker.pid"
        pidfile.unlink(missing_ok=True)
        self.starts += 1
        log = open(self.root / f"dockerd-{self.starts}.log", "wb")
        t0 = time.monotonic()
        # In its own network and mount namespaces: `--bridge none` makes dockerd delete the link named docker0,
        # which in the host's namespace is the machine engine's bridge. A unix socket is reached through the file
        # system, so the client under test dials it from here all the same.
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--mount", "dockerd", "--host", self.url, "--data-root", str(self.root / "data"),
             "--exec-root", str(self.root / "exec"), "--pidfile", str(pidfile), "--bridge", "none",
             "--iptables=false", "--ip6tables=false"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        while not self.answers():
            if self.proc.poll() is not None:
                pytest.fail(f"the private dockerd exited with {self.proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() - t0 > SAFETY:
                pytest.fail(f"the private dockerd did not answer /_ping within {SAFETY} s:\n{self.log_tail()}")
            time.sleep(0.05)
        return time.monotonic() - t0

    def answers(self) -> bool:
        """A raw GET /_ping on the socket, independent of the client under test."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(2)
                s.connect(str(self.sock))
                s.sendall(b"GET /_ping HTTP/1.0\r\nHost: x\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.") and True
        except OSError:
            return False

    def _containerd_pids(self) -> List[int]:
        pids = []
        pidfile = self.root / "exec" / "containerd" / "containerd.pid"
        try:
            pids.append(int(pidfile.read_text().strip()))
        except (OSError, ValueError):
            pass
        if self.proc is not None:  # and any child of dockerd, should the pid file be missing
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        stat = Path(f"/proc/{entry}/stat").read_text()
                    except OSError:
                        continue
                    if int(stat[stat.rindex(")") + 2:].split()[1]) == self.proc.pid:
                        pids.append(int(entry))
        return pids

    def kill(self) -> None:
        """SIGKILL to dockerd and its containerd: no shutdown, no cleanup."""
        if self.proc is None:
            return
        victims = [self.proc.pid, *self._containerd_pids()]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        for pid in victims[1:]:  # containerd was dockerd's child: reparented, reaped by init; wait until gone
            t0 = time.monotonic()
            while Path(f"/proc/{pid}").exists() and time.monotonic() - t0 < 10:
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.02)
        self.proc = None

    def log_tail(self, n: int = 30) -> str:
        logs = sorted(self.root.glob("dockerd-*.log"))
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-n:]) if logs else "(no log)"

    def destroy(self) -> None:
        self.kill()
        with open("/proc/mounts") as f:  # dockerd bind-mounts its data root onto itself
            mounts = [line.split()[1] for line in f if line.split()[1].startswith(str(self.root))]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_engine(offline_images: tuple) -> Iterator[PrivateEngine]:
    e = PrivateEngine()
    try:
        print(f"\nprivate dockerd at {e.url}: up in {e.start():.2f} s")
        yield e
    finally:
        e.destroy()
        assert not e.root.exists(), f"{e.root} was left behind"


def concurrently(n: int, fn: Callable[[int], None]) -> None:
    """Runs fn(0..n-1) on n threads released together; re-raises the first failure."""
    barrier = threading.Barrier(n)
    failures: List[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            fn(i)
        except BaseException as e:  # noqa: BLE001
            failures.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SAFETY)
        assert not t.is_alive(), "a thread hung"
    if failures:
        raise failures[0]


def test_engine_restart_under_pooled_connections(private_engine: PrivateEngine) -> None:
    client = dind.Client(private_engine.url)
    concurrently(6, lambda i: [client.version() for _ in range(20)])
    pooled = client.api.idle_connections
    assert pooled >= 2, f"concurrent calls left only {pooled} pooled connection(s)"

    private_engine.kill()
    restart = private_engine.start()
    assert client.api.idle_connections == pooled  # all dead now, and the client has not noticed yet

    # The first call is a POST, which is never retried: it must go out on a fresh connection, so the pool has to
    # drop every dead idle one before use.
    t0 = time.monotonic()
    volume = client.volumes.create(labels=LABELS)
    first = time.monotonic() - t0
    volume.remove()
    assert client.ping() is True
    concurrently(4, lambda i: [client.version() for _ in range(10)])
    assert 1 <= client.api.idle_connections <= 8

    # While the engine is down: a clear error naming the socket; once it is back, calls work again.
    private_engine.kill()
    with pytest.raises(errors.ConnectionError, match=str(private_engine.sock)) as down:
        client.version()
    private_engine.start()
    assert client.version()["ApiVersion"]
    print(f"pooled before the kill: {pooled}; restart {restart:.2f} s; first call after it {first * 1000:.1f} ms; "
          f"pooled after: {client.api.idle_connections}; while down: {down.value}")


def test_events_stream_ends_when_its_daemon_is_killed(private_engine: PrivateEngine) -> None:
    client = dind.Client(private_engine.url)
    events = client.events(decode=True)
    drain = Drain("events", events)
    client.volumes.create(labels=LABELS).remove()  # an event, so the stream is known to be flowing
    drain.wait_started()
    private_engine.kill()
    waited = drain.finish()
    print(f"events after SIGKILL of dockerd: {drain.judge()} ({waited * 1000:.0f} ms)")
    events.close()


# ---- streams whose container is killed --------------------------------------------------------------------------
CHATTER = ["sh", "-c", "i=0; while :; do echo line $i; echo err $i >&2; i=$((i+1)); sleep 0.05; done"]


def test_streams_end_when_their_container_is_killed(engine: dind.Client) -> None:
    c = engine.containers.run(BUSYBOX, CHATTER, detach=True, labels=LABELS)
    try:
        drains = [Drain("logs follow", c.logs(stream=True, follow=True)),
                  Drain("attach", c.attach(stream=True)),
                  Drain("exec stream", c.exec_run(["sh", "-c", "while :; do echo e; sleep 0.05; done"],
                                                  stream=True).output)]
        for d in drains:
            d.wait_started()
        c.kill()
        for d in drains:
            waited = d.finish()
            print(f"{d.name} after the container was killed: {d.judge()} ({waited * 1000:.0f} ms, "
                  f"{d.chunks} chunks)")
    finally:
        c.remove(force=True, v=True)


# ---- a dind daemon killed from outside ---------------------------------------------------------------------------
def test_streams_end_when_their_dind_daemon_is_killed(engine: dind.Client, session_env: str) -> None:
    with dind.Dind(DIND_IMAGE, client=engine) as d:
        try:
            d.load_images([BUSYBOX])
        except errors.DockerException as e:
            pytest.fail(f"loading {BUSYBOX} into {d.name} failed: {e}\nits log:\n{d.logs(40)}")
        inner = d.client.containers.run(BUSYBOX, CHATTER, detach=True)
        drains = [Drain("events", d.client.events(decode=True)),
                  Drain("logs follow", inner.logs(stream=True, follow=True)),
                  Drain("attach", inner.attach(stream=True))]
        d.client.volumes.create().remove()  # an event
        for x in drains:
            x.wait_started()
        engine.containers.get(d.id).kill()
        for x in drains:
            waited = x.finish()
            print(f"{x.name} after the dind container was killed: {x.judge()} ({waited * 1000:.0f} ms)")


def test_dind_killed_from_outside_gives_a_clear_error_and_close_removes_everything(
        engine: dind.Client, session_env: str) -> None:
    d = dind.Dind(DIND_IMAGE, client=engine)
    try:
        cert_path = Path(d.cert_path)
        volumes = [m["Name"] for m in engine.containers.get(d.id).attrs["Mounts"] if m["Type"] == "volume"]
        assert volumes and cert_path.is_dir()
        port = d.host.rsplit(":", 1)[1]

        # In use: a thread calls in a loop (several pooled connections) while the container is killed.
        stop = threading.Event()
        seen: List[BaseException] = []

        def busy() -> None:
            while not stop.is_set():
                try:
                    d.client.containers.list()
                except BaseException as e:  # noqa: BLE001
                    seen.append(e)
                    return

        workers = [threading.Thread(target=busy) for _ in range(3)]
        for w in workers:
            w.start()
        time.sleep(0.5)
        engine.containers.get(d.id).kill()
        stop.set()
        for w in workers:
            w.join(SAFETY)
            assert not w.is_alive(), "a call on a killed daemon hangs"
        for e in seen:  # calls in flight at the kill: a connection failure naming the address, not a TLS verdict
            assert isinstance(e, STREAM_ERRORS) and f"127.0.0.1:{port}" in str(e), f"{type(e).__name__}: {e}"

        with pytest.raises(errors.ConnectionError) as info:
            d.client.ping()
        message = str(info.value)
        assert f"127.0.0.1:{port}" in message, message
        print(f"in flight at the kill: {[type(e).__name__ + ': ' + str(e) for e in seen]}; the next call: {message}")
    finally:
        d.close()
    with pytest.raises(errors.NotFound):
        engine.containers.get(d.id)
    for v in volumes:
        with pytest.raises(errors.NotFound):
            engine.volumes.get(v)
    assert not cert_path.exists(), f"{cert_path} was left behind"


# ---- a process using dind.Dind killed with SIGKILL ---------------------------------------------------------------
def _python_env() -> dict:
    parent = os.path.dirname(os.path.dirname(os.path.abspath(dind.__file__)))
    return {**os.environ, "DIND_SESSION": SESSION,
            "PYTHONPATH": os.pathsep.join(filter(None, [parent, os.environ.get("PYTHONPATH")]))}


@pytest.mark.parametrize("how", ["dind prune", "dind.reap()"])
def test_a_sigkilled_owner_leaves_what_prune_removes(engine: dind.Client, tmp_path: Path, how: str) -> None:
    marker = tmp_path / "started"
    script = textwrap.dedent(f"""
        import pathlib, time, dind
        d = dind.Dind({DIND_IMAGE!r}, labels={{"dind.test-faults": {str(tmp_path)!r}}})
        pathlib.Path({str(marker)!r}).write_text(d.id + "\\n" + d.cert_path)
        time.sleep(600)
        """)
    proc = subprocess.Popen([sys.executable, "-c", script], env=_python_env(), stdin=subprocess.DEVNULL)
    try:
        t0 = time.monotonic()
        while not marker.exists():
            assert proc.poll() is None, f"the script exited with {proc.returncode}"
            assert time.monotonic() - t0 < SAFETY, "the script's daemon did not start"
            time.sleep(0.1)
        cid, cert_path = marker.read_text().split("\n")
        container = engine.containers.get(cid)
        assert container.labels["dind.session"] == SESSION
        volumes = [m["Name"] for m in container.attrs["Mounts"] if m["Type"] == "volume"]
        assert volumes
        proc.kill()  # SIGKILL: no atexit, no signal handler, no finalizer
        proc.wait()
        assert engine.containers.get(cid).status == "running"  # nothing could tear it down

        if how == "dind prune":
            out = subprocess.run([sys.executable, "-m", "dind", "prune"], env=_python_env(), capture_output=True,
                                 text=True, timeout=SAFETY, stdin=subprocess.DEVNULL)
            assert out.returncode == 0, out.stderr
        else:
            dind.reap(client=engine)
    finally:
        proc.kill()
        proc.wait()
    with pytest.raises(errors.NotFound):
        engine.containers.get(cid)
    for v in volumes:
        with pytest.raises(errors.NotFound):
            engine.volumes.get(v)
    assert not Path(cert_path).exists(), f"{cert_path} was left behind"


# ---- file descriptors over many calls ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tls_daemon(engine: dind.Client) -> Iterator[dind.Dind]:
    old = os.environ.get("DIND_SESSION")
    os.environ["DIND_SESSION"] = SESSION
    try:
        d = dind.Dind(DIND_IMAGE, client=engine)
    finally:
        if old is None:
            del os.environ["DIND_SESSION"]
        else:
            os.environ["DIND_SESSION"] = old
    with d:
        yield d


POOL_BOUND = 8  # the pool keeps at most this many idle connections (ClientConfig::max_idle)
FDS_PER_CONNECTION = 4  # its socket, and the epoll, eventfd and timerfd descriptors of its own io_context


@pytest.mark.parametrize("transport", ["unix", "tls"])
def test_many_calls_leak_no_file_descriptors(engine: dind.Client, transport: str,
                                             request: pytest.FixtureRequest) -> None:
    def make() -> dind.Client:
        if transport == "unix":
            return outer()
        d = request.getfixturevalue("tls_daemon")
        cp = Path(d.cert_path)
        return dind.Client(d.host, tls={"ca_cert": str(cp / "ca.pem"), "verify": True,
                                        "client_cert": (str(cp / "cert.pem"), str(cp / "key.pem"))})

    make().ping()  # loads what a first call loads (TLS context, libraries) outside the count
    baseline = fd_count()
    client = make()
    calls = [client.ping, client.version, lambda: client.containers.list(filters={"label": ["dind.none"]})]
    calls[0]()
    before = fd_count()

    t0 = time.monotonic()
    for i in range(SEQUENTIAL):
        calls[i % 3]()
    sequential = time.monotonic() - t0
    after_sequential = fd_count()

    rounds = []
    for _ in range(2):
        t0 = time.monotonic()
        concurrently(THREADS, lambda k: [calls[(i + k) % 3]() for i in range(PER_THREAD)])
        rounds.append((time.monotonic() - t0, fd_count(), client.api.idle_connections))
    client, calls = None, []  # the last references: its connections close now
    after_close = fd_count()

    print(f"{transport}: fds {baseline} without the client, {before} after its first call, {after_sequential} "
          f"after {SEQUENTIAL} sequential calls ({sequential:.2f} s), "
          + ", ".join(f"{fds} after {THREADS}x{PER_THREAD} concurrent ({t:.2f} s, {idle} idle connections)"
                      for t, fds, idle in rounds)
          + f", {after_close} once the client is gone")
    assert after_sequential <= before  # one connection, reused for all
    for _, fds, idle in rounds:
        assert idle <= POOL_BOUND
        assert fds - before <= FDS_PER_CONNECTION * POOL_BOUND
    assert rounds[1][1] <= rounds[0][1], "a second round of the same calls grew the fd count"
    assert after_close <= baseline, "the client's descriptors outlived it"


# ---- memory under a slow reader of a fast stream -----------------------------------------------------------------
STREAM_MB = 220 * SCALE
# ~1 KB lines, STREAM_MB MiB in total, as fast as the container can write them.
FAST = ["sh", "-c", f"yes \"$(printf '%01000d' 0)\" | head -c {STREAM_MB << 20}"]


@pytest.mark.parametrize("kind", ["logs follow", "attach"])
def test_a_slow_reader_of_a_fast_stream_keeps_memory_flat(engine: dind.Client, kind: str) -> None:
    if kind == "attach":  # attached before start: nothing is missed; no log driver, the engine keeps no copy
        c = engine.containers.create(BUSYBOX, FAST, labels=LABELS, log_config={"type": "none"})
        stream = c.attach(stream=True)
        c.start()
    else:
        c = engine.containers.run(BUSYBOX, FAST, detach=True, labels=LABELS)
        stream = c.logs(stream=True, follow=True)
    try:
        base = rss_kib()
        peak = base
        total = chunks = paced = 0
        t0 = time.monotonic()
        deadline = t0 + 20 * SAFETY
        with stream:
            for chunk in stream:
                total += len(chunk)
                chunks += 1
                if total >= paced + (1 << 20):  # slow: at most ~20 MiB/s, far behind the producer
                    paced = total
                    peak = max(peak, rss_kib())
                    time.sleep(0.05)
                assert time.monotonic() < deadline, "the stream did not end"
        elapsed = time.monotonic() - t0
        peak = max(peak, rss_kib())
        growth_mb = (peak - base) / 1024
        print(f"{kind}: {total / 2**20:.0f} MiB in {chunks} chunks over {elapsed:.1f} s "
              f"({total / 2**20 / elapsed:.0f} MiB/s); RSS {base / 1024:.1f} MiB at start, peak growth "
              f"{growth_mb:.1f} MiB")
        assert total >= STREAM_MB << 20, f"only {total} bytes arrived"
        assert growth_mb < 50, f"RSS grew {growth_mb:.1f} MiB while streaming {total >> 20} MiB"
    finally:
        c.remove(force=True, v=True)
