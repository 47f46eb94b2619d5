"""Reach benchmarks: a ping through the tunnel against a ping to the published port, and the time to a ready daemon
from inside a CI job container (socket mounted: the network reach) against the same start on the engine's host.

Pings: one process holds both daemons and interleaves the samples (ABAB in blocks); the raw floor through the tunnel
is bench/raw_ping on the forwarder's socket, and docker-py's ping there is shown for reference. Starts: the same
script runs in a fresh interpreter on the host and in a job container (this checkout's wheel in the job image, see
tests/python/jobs.py), interleaved. Everything carries dind.session=bench and is removed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DIND_IMAGE, LABELS, Row, cleanup_engine, emit, failed_row, fmt, log, median, run_worker  # noqa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The start measured on both sides (printed as one JSON line): what a CI script does first.
START_SCRIPT = """
import json, time, dind
dind.Client().ping()
t0 = time.perf_counter()
d = dind.Dind(%r, labels={"dind.session": "bench"})
ready = time.perf_counter() - t0
print(json.dumps({"ready": ready, "reach": d.reach.kind}))
d.close()
""" % DIND_IMAGE


def ping_worker(samples: int) -> Dict[str, Any]:
    import dind

    def sample(client: Any, n: int) -> List[float]:
        out = []
        for _ in range(n):
            t = time.perf_counter()
            client.ping()
            out.append(time.perf_counter() - t)
        return out

    with dind.Dind(DIND_IMAGE, labels=LABELS) as direct, dind.Dind(DIND_IMAGE, labels=LABELS, reach="tunnel") as tun:
        for c in (direct.client, tun.client):
            sample(c, 50)  # warm: connections made, version negotiated
        a: List[float] = []
        b: List[float] = []
        for _ in range(10):  # interleaved blocks
            a += sample(direct.client, samples // 10)
            b += sample(tun.client, samples // 10)
        socket = tun.env["DOCKER_HOST"][len("unix://"):]
        raw = None
        tool = os.path.join(os.environ.get("DIND_BUILD_DIR", os.path.join(REPO, "build", "release")), "bench",
                            "raw_ping")
        if os.access(tool, os.X_OK):
            p = subprocess.run([tool, str(samples), socket], capture_output=True, text=True, timeout=300)
            raw = float(p.stdout.split()[0]) * 1e-6 if p.returncode == 0 and p.stdout.strip() else None
        dockerpy = None
        try:
            import docker

            dp = docker.DockerClient(base_url="unix://" + socket)
            sample(dp, 50)
            dockerpy = median(sample(dp, samples // 4))
            dp.close()
        except ImportError:
            pass
        return {"direct": median(a), "tunnel": median(b), "raw_tunnel": raw, "dockerpy_tunnel": dockerpy}


def run(quick: bool) -> List[Row]:
    only = set(filter(None, os.environ.get("DIND_BENCH_ONLY", "").split(",")))
    rows: List[Row] = []
    try:
        if not only or "tunnel" in only:
            log("ping through the tunnel vs the published port ...")
            rows += _tunnel(2000 if quick else 10000)
        if not only or "jobready" in only:
            log("time to ready inside a job container vs on the host ...")
            rows += _job_ready(2 if quick else 5)
    finally:
        gone = cleanup_engine()
        if gone:
            log(f"  cleanup removed leftover containers: {', '.join(gone)}")
    return rows


def _tunnel(samples: int) -> List[Row]:
    try:
        r = run_worker("reach_bench", ["ping", str(samples)])
    except Exception as e:  # noqa: BLE001 - reported as a failed row
        return [failed_row("reach", "ping through the tunnel vs the published port", "<= 3x", e)]
    us = lambda x: None if x is None else x * 1e6  # noqa: E731
    log(f"  direct (mutual TLS, published port) {us(r['direct']):.1f} us; tunnel {us(r['tunnel']):.1f} us; "
        f"raw C through the tunnel's socket {us(r['raw_tunnel']) or float('nan'):.1f} us; docker-py there "
        f"{us(r['dockerpy_tunnel']) or float('nan'):.1f} us")
    ratio = r["tunnel"] / r["direct"]
    rows = [Row("reach", "ping through the tunnel vs the published port", fmt(us(r["tunnel"]), "us"),
                fmt(us(r["direct"]), "us (TLS port)"), ratio, "<= 3x direct", ratio <= 3)]
    if r["raw_tunnel"]:
        rows.append(Row("reach", "  the tunnel, raw C floor via its CLI socket (info)", fmt(us(r["tunnel"]), "us"),
                        fmt(us(r["raw_tunnel"]), "us (raw_ping)"), r["tunnel"] / r["raw_tunnel"], "-", None))
    if r["dockerpy_tunnel"]:
        rows.append(Row("reach", "  the tunnel, docker-py via its CLI socket (info)", fmt(us(r["tunnel"]), "us"),
                        fmt(us(r["dockerpy_tunnel"]), "us (docker-py)"), r["tunnel"] / r["dockerpy_tunnel"], "-",
                        None))
    return rows


def _job_ready(reps: int) -> List[Row]:
    sys.path.insert(0, os.path.join(REPO, "tests", "python"))
    import json

    import jobs  # the test suite's job image and job runner

    try:
        image = jobs.build_job_image()
    except Exception as e:  # noqa: BLE001 - no wheel (scripts/build.sh) or no base image
        return [failed_row("reach", "ready inside a job vs on the host", "<= 1.2x", e)]
    host: List[float] = []
    job: List[float] = []
    reaches = set()
    failures: List[BaseException] = []
    for i in range(reps):  # ABAB, each a fresh interpreter
        try:
            p = subprocess.run([sys.executable, "-c", START_SCRIPT], capture_output=True, text=True, timeout=300)
            r = json.loads(p.stdout.strip().splitlines()[-1])
            host.append(r["ready"])
            code, out = jobs.run_in_job(image, ["python3", "-c", START_SCRIPT], timeout=300,
                                        environment={"DIND_SESSION": "bench"})
            r = json.loads(out.strip().splitlines()[-1])
            job.append(r["ready"])
            reaches.add(r["reach"])
        except Exception as e:  # noqa: BLE001 - a failed repetition is reported, the others still count
            failures.append(e)
            log(f"  repetition {i + 1} FAILED: {e}")
            cleanup_engine()
    log(f"  host: {' '.join(f'{x:.2f}' for x in host)} s; job ({'/'.join(sorted(reaches))} reach): "
        f"{' '.join(f'{x:.2f}' for x in job)} s")
    if not host or not job:
        return [failed_row("reach", "ready inside a job vs on the host", "<= 1.2x", (failures or [RuntimeError("none")])[0])]
    h, j = median(host), median(job)
    return [Row("reach", "ready inside a job container vs on the host", fmt(j, "s", 2), fmt(h, "s (host)", 2), j / h,
                "<= 1.2x host", j / h <= 1.2)]


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker" and sys.argv[2] == "ping":
        emit(ping_worker(int(sys.argv[3])))
    else:
        raise SystemExit("run the benchmarks through bench/run.sh")
