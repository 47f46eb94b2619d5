"""Client benchmarks: the Engine API client against docker-py 7.1 and the raw floor (raw_ping, curl, demux_bench).

Run through bench/run.sh. ``python3 bench/client_bench.py --worker ...`` is the fresh-subprocess side of the archive and
import benchmarks (one measured operation per interpreter, so RSS figures are not polluted by the other side).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (BUSYBOX, LABELS, SOCKET, Row, docker_py_client, emit, failed_row, fmt, log,  # noqa: E402
                    median, reset_peak_rss, run_worker, vm_status)
import stream_bench  # noqa: E402

MB = 1e6
# ---- (1) ping latency ------------------------------------------------------------------------------------------
def bench_ping(cfg: Dict[str, Any], raw_ping: Optional[str]) -> List[Row]:
    import dind

    rounds, per = cfg["ping_rounds"], cfg["ping_per_round"]
    dc = dind.Client()
    dp = docker_py_client()
    try:
        for _ in range(100):  # warm up both pools and the version negotiation
            dc.ping()
            dp.ping()
        d_us: List[float] = []
        p_us: List[float] = []
        raw_med: List[float] = []
        pc = time.perf_counter_ns
        for _ in range(rounds):  # interleaved: dind, docker-py, raw, dind, ...
            for _ in range(per):
                t0 = pc()
                dc.ping()
                d_us.append((pc() - t0) / 1e3)
            for _ in range(per):
                t0 = pc()
                dp.ping()
                p_us.append((pc() - t0) / 1e3)
            if raw_ping:
                out = subprocess.run([raw_ping, str(per), SOCKET], capture_output=True, text=True, check=True)
                raw_med.append(float(out.stdout.strip()))
    finally:
        dp.close()
    d, p = median(d_us), median(p_us)
    log(f"  ping median: dind {d:.1f} us, docker-py {p:.1f} us, raw_ping {median(raw_med):.1f} us "
        f"({rounds} rounds x {per})")
    rows = []
    if raw_med:
        r = median(raw_med)
        rows.append(Row("client", "ping median vs raw C floor", fmt(d, "us"), fmt(r, "us (raw_ping)"), d / r,
                        "<= 1.5x raw", d / r <= 1.5))
    else:
        rows.append(Row("client", "ping median vs raw C floor", fmt(d, "us"), "raw_ping not found", None, "<= 1.5x raw",
                        None, note="build bench/raw_ping (scripts/build.sh) or set DIND_BUILD_DIR"))
    rows.append(Row("client", "ping median vs docker-py (speed-up)", fmt(d, "us"), fmt(p, "us (docker-py)"), p / d,
                    ">= 5x faster", p / d >= 5))
    return rows


# ---- (2) 4 threads sharing one client ----------------------------------------------------------------------------
def _ping_throughput(client: Any, threads: int, seconds: float) -> float:
    counts = [0] * threads
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def loop(i: int) -> None:
        start.wait()
        n = 0
        end = stop_at[0]
        while time.perf_counter() < end:
            client.ping()
            n += 1
        counts[i] = n

    ts = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    stop_at[0] = time.perf_counter() + seconds
    t0 = time.perf_counter()
    start.wait()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)


def bench_threads(cfg: Dict[str, Any]) -> List[Row]:
    import dind

    dc = dind.Client()
    _ping_throughput(dc, 4, 0.3)  # opens the pool's connections
    one: List[float] = []
    four: List[float] = []
    for _ in range(cfg["thread_rounds"]):  # ABAB
        one.append(_ping_throughput(dc, 1, cfg["thread_seconds"]))
        four.append(_ping_throughput(dc, 4, cfg["thread_seconds"]))
    o, f = median(one), median(four)
    log(f"  ping throughput: 1 thread {o:.0f}/s, 4 threads {f:.0f}/s")
    return [Row("client", "ping/s, 4 threads vs 1 thread (one client)", fmt(f, "/s", 0), fmt(o, "/s (1 thread)", 0),
                f / o, ">= 1.6x", f / o >= 1.6)]


# ---- (3) streams: logs, exec, attach, get_archive, image save (bench/stream_bench.py) ----------------------------


def _api_url(dp: Any) -> str:
    return f"http://localhost/v{dp.api.api_version}"


def _curl(args: List[str], size: int) -> float:
    """curl over the engine socket, body to /dev/null; the transfer's seconds (checks it moved >= size bytes)."""
    p = subprocess.run(["curl", "-sS", "--fail", "--unix-socket", SOCKET, "-o", "/dev/null", "-w",
                        "%{time_total} %{size_download} %{size_upload}", *args],
                       capture_output=True, text=True, check=True)
    t, down, up = p.stdout.split()
    if max(int(float(down)), int(float(up))) < size:
        raise RuntimeError(f"curl {' '.join(args)} moved {down}/{up} bytes, expected {size}")
    return float(t)


# ---- (5) the demuxer alone ---------------------------------------------------------------------------------------
def bench_demux(cfg: Dict[str, Any], demux_bench: Optional[str]) -> List[Row]:
    target = "demuxer >= 2000 MB/s"
    if not demux_bench:
        return [Row("client", "demuxer alone (synthetic)", "demux_bench not found", "", None, target, None,
                    note="build bench/demux_bench (scripts/build.sh) or set DIND_BUILD_DIR")]
    out = subprocess.run([demux_bench, str(cfg["demux_mb"])], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"\s*(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)", line)
        if not m:
            continue
        frame, rate = int(m.group(1)), float(m.group(3))
        label = f"{frame} B" if frame < 1024 else (f"{frame >> 10} KiB" if frame < 1 << 20 else f"{frame >> 20} MiB")
        rows.append(Row("client", f"demuxer alone, {label} frames", fmt(rate, "MB/s", 0), "-", rate / 2000,
                        ">= 2000 MB/s", rate >= 2000))
    log("  demux_bench:\n" + "\n".join("    " + ln for ln in out.splitlines()))
    return rows


# ---- (6) put_archive / get_archive -------------------------------------------------------------------------------
def _make_tar(path: str, size: int) -> None:
    """A tar holding one file ``blob`` of ``size`` pseudo-random bytes (made once, reused)."""
    if os.path.exists(path) and os.path.getsize(path) >= size:
        return
    blob = path + ".blob"
    chunk = os.urandom(1 << 20)
    with open(blob, "wb") as f:
        left = size
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
    with tarfile.open(path + ".tmp", "w", format=tarfile.PAX_FORMAT) as t:
        t.add(blob, arcname="blob")
    os.replace(path + ".tmp", path)
    os.unlink(blob)


def archive_worker(side: str, op: str, container_id: str, tar_path: str) -> Dict[str, Any]:
    """One put or get in this fresh interpreter: seconds and RSS growth (peak while streaming - before)."""
    if side == "dind":
        import dind

        client = dind.Client()
    else:
        import docker

        client = docker.DockerClient(base_url="unix://" + SOCKET)
    client.ping()
    cont = client.containers.get(container_id)
    if op == "get":  # touch the endpoint once so lazily loaded code is not counted as streaming growth
        strm, _ = cont.get_archive("/etc/hostname")
        for _ in strm:
            pass
    reset_peak_rss()
    before = vm_status()["VmRSS"]
    n = 0
    t0 = time.perf_counter()
    if op == "put":
        with open(tar_path, "rb") as f:
            if not cont.put_archive("/tmp", f):
                raise RuntimeError(f"{side} put_archive of {tar_path} into {container_id}:/tmp returned False")
        n = os.path.getsize(tar_path)
    else:
        strm, _stat = cont.get_archive("/tmp/blob")
        for chunk in strm:
            n += len(chunk)
    dt = time.perf_counter() - t0
    st = vm_status()
    return {"seconds": dt, "bytes": n, "rss_before_kb": before, "hwm_kb": st["VmHWM"],
            "growth_mb": (st["VmHWM"] - before) / 1024}


def bench_archive(cfg: Dict[str, Any]) -> List[Row]:
    size = cfg["archive_bytes"]
    tar_path = f"/tmp/dind-bench-archive-{size}.tar"
    _make_tar(tar_path, size)
    dp = docker_py_client()
    c = None
    rows: List[Row] = []
    try:
        c = dp.containers.run(BUSYBOX, ["sleep", "3600"], detach=True, labels=LABELS)
        res: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
        url = f"{_api_url(dp)}/containers/{c.id}/archive"
        curl_args = {"put": ["-X", "PUT", "-H", "Content-Type: application/x-tar", "-T", tar_path, url + "?path=/tmp"],
                     "get": [url + "?path=/tmp/blob"]}
        for op in ("put", "get"):
            for _ in range(cfg["archive_rounds"]):  # ABAB, a fresh interpreter each
                for side in ("dind", "docker"):
                    res.setdefault((op, side), []).append(
                        run_worker("client_bench", ["archive", side, op, c.id, tar_path]))
                res.setdefault((op, "curl"), []).append(
                    {"seconds": _curl(curl_args[op], size), "bytes": os.path.getsize(tar_path)})
    finally:
        if c is not None:
            c.remove(force=True, v=True)
        dp.close()
    for op in ("put", "get"):
        d = res[(op, "dind")]
        p = res[(op, "docker")]
        d_rate = median([r["bytes"] / r["seconds"] for r in d]) / MB
        p_rate = median([r["bytes"] / r["seconds"] for r in p]) / MB
        d_rss = max(r["growth_mb"] for r in d)
        p_rss = max(r["growth_mb"] for r in p)
        log(f"  {op}_archive {size >> 20} MiB: dind {d_rate:.0f} MB/s (+{d_rss:.1f} MB RSS), "
            f"docker-py {p_rate:.0f} MB/s (+{p_rss:.1f} MB RSS)")
        rows.append(Row("client", f"{op}_archive {size >> 20} MiB vs docker-py", fmt(d_rate, "MB/s", 0),
                        fmt(p_rate, "MB/s (docker-py)", 0), d_rate / p_rate, ">= 1.5x", d_rate / p_rate >= 1.5))
        rows.append(Row("client", f"{op}_archive RSS growth while streaming (max)", fmt(d_rss, "MB"),
                        fmt(p_rss, "MB (docker-py)"), None, "< 32 MB", d_rss < 32))
        c_rate = median([r["bytes"] / r["seconds"] for r in res[(op, "curl")]]) / MB
        log(f"  {op}_archive raw floor: curl {c_rate:.0f} MB/s")
        rows.append(Row("client", f"  the same {op}_archive, raw floor (info)", fmt(d_rate, "MB/s", 0),
                        fmt(c_rate, "MB/s (curl)", 0), d_rate / c_rate, "- (engine's rate)", None))
    return rows


# ---- (7) import time and RSS ---------------------------------------------------------------------------------------
_IMPORT_CODE = r"""
import time, sys
t0 = time.perf_counter()
import {mod}
t1 = time.perf_counter()
{client}
t2 = time.perf_counter()
s = open('/proc/self/status').read()
rss = int(s.split('VmRSS:')[1].split()[0])
print('{{"import_ms": %f, "first_ping_ms": %f, "rss_kb": %d}}' % ((t1 - t0) * 1e3, (t2 - t1) * 1e3, rss))
"""
_BARE_CODE = r"""
s = open('/proc/self/status').read()
print('{"rss_kb": %d}' % int(s.split('VmRSS:')[1].split()[0]))
"""


def _py(code: str) -> Dict[str, Any]:
    import json

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{sys.executable} -c ... exited {out.returncode}: {out.stderr.strip()[-300:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_import(cfg: Dict[str, Any]) -> List[Row]:
    dind_code = _IMPORT_CODE.format(mod="dind", client="assert dind.Client().ping()")
    docker_code = _IMPORT_CODE.format(mod="docker", client="assert docker.from_env().ping()")
    _py(dind_code), _py(docker_code)  # warm the page cache (.pyc, the extension)
    bare, d, p = [], [], []
    for _ in range(cfg["import_rounds"]):  # interleaved fresh interpreters
        bare.append(_py(_BARE_CODE)["rss_kb"])
        d.append(_py(dind_code))
        p.append(_py(docker_code))
    b = median(bare)
    d_imp, p_imp = median([r["import_ms"] for r in d]), median([r["import_ms"] for r in p])
    d_ping, p_ping = median([r["first_ping_ms"] for r in d]), median([r["first_ping_ms"] for r in p])
    d_rss, p_rss = (median([r["rss_kb"] for r in d]) - b) / 1024, (median([r["rss_kb"] for r in p]) - b) / 1024
    log(f"  import: dind {d_imp:.1f} ms (+{d_ping:.1f} ms Client()+first ping), docker {p_imp:.1f} ms "
        f"(+{p_ping:.1f} ms); RSS above bare ({b / 1024:.1f} MB): dind +{d_rss:.1f} MB, docker-py +{p_rss:.1f} MB")
    return [
        Row("client", "import dind", fmt(d_imp, "ms"), fmt(p_imp, "ms (import docker)"), d_imp / 30, "<= 30 ms",
            d_imp <= 30),
        Row("client", "import + Client() + first ping (info)", fmt(d_imp + d_ping, "ms"), fmt(p_imp + p_ping, "ms (docker)"),
            None, "-", None),
        Row("client", "RSS after import + one ping, above bare python", fmt(d_rss, "MB"), fmt(p_rss, "MB (docker-py)"),
            d_rss / 6, "<= 6 MB", d_rss <= 6),
    ]


# ---- driver ------------------------------------------------------------------------------------------------------
def config(quick: bool) -> Dict[str, Any]:
    if quick:
        return dict(ping_rounds=4, ping_per_round=150, thread_rounds=2, thread_seconds=1.0, stream_bytes=200 << 20,
                    stream_rounds=2, demux_mb=100, archive_bytes=256 << 20, archive_rounds=2, import_rounds=5)
    # Sizes are the targets' (bench/README.md); repetitions are bounded so a full run fits in ~15 min on a loaded 2-core machine.
    return dict(ping_rounds=8, ping_per_round=250, thread_rounds=5, thread_seconds=2.0, stream_bytes=200 << 20,
                stream_rounds=5, demux_mb=200, archive_bytes=256 << 20, archive_rounds=4, import_rounds=9)


def run(quick: bool, raw_ping: Optional[str], demux_bench: Optional[str]) -> List[Row]:
    cfg = config(quick)
    only = set(filter(None, os.environ.get("DIND_BENCH_ONLY", "").split(",")))
    benches: List[Tuple[str, str, Callable[[], List[Row]]]] = [
        ("ping", "ping latency", lambda: bench_ping(cfg, raw_ping)),
        ("threads", "ping/s with 4 threads", lambda: bench_threads(cfg)),
        ("streams", "streams vs docker-py and curl", lambda: stream_bench.run(cfg, only & set(stream_bench.KEYS))),
        ("demux", "demuxer alone", lambda: bench_demux(cfg, demux_bench)),
        ("archive", "put/get_archive vs docker-py", lambda: bench_archive(cfg)),
        ("import", "import time and RSS", lambda: bench_import(cfg)),
    ]
    rows: List[Row] = []
    for key, title, fn in benches:
        if only and key not in only and not (key == "streams" and only & set(stream_bench.KEYS)):
            continue
        log(f"{title} ...")
        t0 = time.perf_counter()
        try:
            rows.extend(fn())
        except Exception as e:  # noqa: BLE001 - report what failed and go on with the next benchmark
            log(f"  FAILED: {type(e).__name__}: {e}")
            rows.append(failed_row("client", title, "", e))
        log(f"  ({time.perf_counter() - t0:.1f} s)")
    return rows


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, args = sys.argv[2], sys.argv[3:]
        if kind == "archive":
            emit(archive_worker(*args))
        else:
            raise SystemExit(f"client_bench.py: unknown worker {kind!r}")
    else:
        raise SystemExit("run the benchmarks through bench/run.sh")
