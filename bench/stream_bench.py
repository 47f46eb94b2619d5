"""Stream benchmarks: every Python stream of dind against docker-py 7.1 and curl on the same endpoint, one run.

Rows (keys of bench/run.sh --only): logs, exec, attach, getarchive, save. Each moves ``stream_bytes`` through the
three clients interleaved (dind, docker-py, curl per round, after one warm-up round each) and gives two ratios:
dind / curl (target >= 0.95x: the client is not the limit) and dind / docker-py (target >= 1.0x).

What each side measures: the whole call, request to last byte, of a source that is already complete, so the
stream is measured and not a container start. logs, attach and getarchive read one exited container that wrote
``stream_bytes`` of 1 KiB lines to stdout and a file of the same size (attach with logs=1 to an exited container is
the engine's log replay through the attach endpoint: the hijacked stream that dind and docker-py read, and curl
reads as a plain body until the engine closes it); save reads an image committed from that container (its layer
holds the file); exec runs a new ``yes | head -c`` in a running container per call, so all three sides include the
exec's create and the process's writing.

A third row per key (info) gives each client's median CPU seconds per call (user + system; curl's as a waited-for
child; attach's include the writer's create, the same on every side): a client whose CPU is far below the call's
time waits on the engine, and there the three clients trade places from round to round.
"""
from __future__ import annotations

import os
import resource
import subprocess
import time
from typing import Any, Callable, Dict, Iterable, List, Tuple

from common import BUSYBOX, LABELS as BENCH_LABELS, SOCKET, Row, docker_py_client, fmt, log, median

MB = 1e6
LINE = "x" * 1023  # 1 KiB lines with the newline of "yes"
KEYS = ("logs", "exec", "attach", "getarchive", "save")
# A session of this run's own: several people bench on one engine, and another run's cleanup (common.py removes
# every dind.session=bench container) must not remove these mid-stream; run() removes its own.
LABELS = {**BENCH_LABELS, "dind.session": f"bench-streams-{os.getpid()}"}


def _count(chunks: Iterable[Any]) -> int:
    """Bytes in a stream of bytes or of (stdout, stderr) pairs."""
    n = 0
    for c in chunks:
        if isinstance(c, tuple):
            n += sum(len(x) for x in c if x is not None)
        else:
            n += len(c)
    return n


def _curl(args: List[str]) -> Tuple[float, int]:
    """curl over the engine socket, body to /dev/null: (seconds, bytes received)."""
    p = subprocess.run(["curl", "-sS", "--fail", "--unix-socket", SOCKET, "-o", "/dev/null", "-w",
                        "%{time_total} %{size_download}", *args], capture_output=True, text=True, check=True)
    t, down = p.stdout.split()
    return float(t), int(float(down))


Side = Callable[[], int]  # moves the stream once; returns the payload bytes it got


def _timed(side: Side) -> Tuple[float, int]:
    t0 = time.perf_counter()
    n = side()
    return time.perf_counter() - t0, n


Timed = Callable[[], Tuple[float, int]]  # the same, timing itself: (seconds, bytes)


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its waited-for children (curl) so far."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _three_way(key: str, what: str, size: int, rounds: int, dind_side: Side, dp_side: Side, curl_side: Timed,
               timed: bool = False) -> List[Row]:
    """`timed`: the dind and docker-py sides time themselves too (they have setup to leave out)."""
    wrap: Callable[[Any], Timed] = (lambda f: f) if timed else (lambda f: lambda: _timed(f))
    sides: Dict[str, Timed] = {"dind": wrap(dind_side), "docker-py": wrap(dp_side), "curl": curl_side}
    times: Dict[str, List[float]] = {k: [] for k in sides}
    cpu: Dict[str, List[float]] = {k: [] for k in sides}
    for r in range(rounds + 1):  # round 0 warms the engine's caches for all three
        for name, fn in sides.items():
            c0 = _cpu()
            t, n = fn()
            used = _cpu() - c0
            if n < size:
                raise RuntimeError(f"{key}: {name} got {n} bytes, expected >= {size}")
            if r:
                times[name].append(t)
                cpu[name].append(used)
    rate = {k: size / median(v) / MB for k, v in times.items()}
    d, p, c = rate["dind"], rate["docker-py"], rate["curl"]
    busy = {k: median(v) for k, v in cpu.items()}
    log(f"  {key} {size >> 20} MiB: dind {d:.0f} MB/s, docker-py {p:.0f} MB/s, curl {c:.0f} MB/s; "
        f"client CPU {busy['dind']:.2f} / {busy['docker-py']:.2f} / {busy['curl']:.2f} s")
    raw = {"seconds": times, "cpu_seconds": cpu}
    return [Row("client", f"{what} {size >> 20} MiB vs curl", fmt(d, "MB/s", 0), fmt(c, "MB/s (curl)", 0), d / c,
                ">= 0.95x curl", d / c >= 0.95, raw=raw),
            Row("client", f"  the same {key} vs docker-py", fmt(d, "MB/s", 0), fmt(p, "MB/s (docker-py)", 0), d / p,
                ">= 1.0x docker-py", d / p >= 1.0),
            # How busy each client was: a client far from saturated waits on the engine, whatever its rate.
            Row("client", f"  the same {key}, client CPU per call (info)", fmt(busy["dind"], "s", 2),
                fmt(busy["docker-py"], "s (docker-py)", 2) + f", {busy['curl']:.2f} s (curl)",
                busy["dind"] / busy["docker-py"] if busy["docker-py"] else None, "-", None)]


def _attach_once(dp: Any, dc: Any, side: str, size: int, api: str) -> Tuple[float, int]:
    """One attach to a new container that writes `size` bytes once /tmp/go exists: attached first (curl: started
    0.5 s before), then timed from the trigger (an exec, the same for all sides) to the stream's end at exit."""
    c = dp.containers.run(BUSYBOX, ["sh", "-c", f"until [ -e /tmp/go ]; do sleep 0.02; done; yes {LINE} | head -c {size}"],
                          detach=True, labels=LABELS)
    try:
        proc, stream = None, None
        if side == "curl":
            proc = subprocess.Popen(["curl", "-sS", "--fail", "--unix-socket", SOCKET, "-o", "/dev/null", "-w",
                                     "%{size_download}", "-X", "POST",
                                     f"{api}/containers/{c.id}/attach?logs=1&stream=1&stdout=1&stderr=1"],
                                    stdout=subprocess.PIPE, text=True)
            time.sleep(0.5)
        else:
            stream = (dc.containers.get(c.id) if side == "dind" else c).attach(stream=True, logs=True)
        t0 = time.perf_counter()
        c.exec_run(["touch", "/tmp/go"])
        if proc is not None:
            out, _ = proc.communicate(timeout=600)
            n = int(out.strip() or 0)
        else:
            n = _count(stream)
        return time.perf_counter() - t0, n
    finally:
        c.remove(force=True, v=True)


def run(cfg: Dict[str, Any], only: Iterable[str]) -> List[Row]:
    """The stream rows in `only` (all of KEYS if empty), containers and image made here and removed after."""
    import dind

    keys = [k for k in KEYS if not set(only) or k in set(only)]
    size, rounds = cfg["stream_bytes"], cfg["stream_rounds"]
    dp, dc = docker_py_client(), dind.Client()
    api = f"http://localhost/v{dp.api.api_version}"
    made: List[Any] = []
    image = f"dind-bench-save:{os.getpid()}"
    rows: List[Row] = []
    try:
        src = dp.containers.run(BUSYBOX, ["sh", "-c", f"yes {LINE} | head -c {size}; head -c {size} /dev/zero "
                                          "> /tmp/blob"], detach=True, labels=LABELS)
        made.append(src)
        if src.wait(timeout=300).get("StatusCode") != 0:
            raise RuntimeError(f"the source container {src.name} failed")
        dsrc = dc.containers.get(src.id)
        if "logs" in keys:
            rows += _three_way("logs", "logs(stream=True)", size, rounds,
                               lambda: _count(dsrc.logs(stream=True, follow=False)),
                               lambda: _count(src.logs(stream=True, follow=False)),
                               lambda: _curl([f"{api}/containers/{src.id}/logs?stdout=1&stderr=1"]))
        if "exec" in keys:
            runner = dp.containers.run(BUSYBOX, ["sleep", "3600"], detach=True, labels=LABELS)
            made.append(runner)
            drunner = dc.containers.get(runner.id)
            cmd = ["sh", "-c", f"yes {LINE} | head -c {size}"]

            def curl_exec() -> Tuple[float, int]:  # the create (docker-py's) plus curl's own transfer time
                t0 = time.perf_counter()
                exec_id = dp.api.exec_create(runner.id, cmd)["Id"]
                create = time.perf_counter() - t0
                t, n = _curl(["-X", "POST", "-H", "Content-Type: application/json", "-d",
                              '{"Detach":false,"Tty":false}', f"{api}/exec/{exec_id}/start"])
                return create + t, n

            rows += _three_way("exec", "exec_run(stream=True, demux=True)", size, rounds,
                               lambda: _count(drunner.exec_run(cmd, stream=True, demux=True).output),
                               lambda: _count(runner.exec_run(cmd, stream=True, demux=True).output), curl_exec)
        if "attach" in keys:
            rows += _three_way("attach", "attach(stream=True, logs=True) of a writer", size, rounds,
                               lambda: _attach_once(dp, dc, "dind", size, api),
                               lambda: _attach_once(dp, dc, "docker-py", size, api),
                               lambda: _attach_once(dp, dc, "curl", size, api), timed=True)
        if "getarchive" in keys:
            rows += _three_way("getarchive", "get_archive", size, rounds,
                               lambda: _count(dsrc.get_archive("/tmp/blob")[0]),
                               lambda: _count(src.get_archive("/tmp/blob")[0]),
                               lambda: _curl([f"{api}/containers/{src.id}/archive?path=/tmp/blob"]))
        if "save" in keys:
            src.commit(repository=image.split(":")[0], tag=image.split(":")[1])
            rows += _three_way("save", "images.get(name).save()", size, rounds,
                               lambda: _count(dc.images.get(image).save()),
                               lambda: _count(dp.images.get(image).save()),
                               lambda: _curl([f"{api}/images/{image}/get"]))
    finally:
        for c in made:
            c.remove(force=True, v=True)
        try:
            dp.images.remove(image, force=True)
        except Exception:  # noqa: BLE001 - not made (the save row did not run or failed before commit)
            pass
        dp.close()
    return rows
