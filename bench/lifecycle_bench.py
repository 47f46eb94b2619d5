"""Lifecycle benchmarks: a throwaway TLS daemon with dind.Dind against the usual docker-py script, same offline image.

Every start/teardown runs in a fresh interpreter (``python3 bench/lifecycle_bench.py --worker ...``) so both sides pay the
same process costs outside the timed region; the docker-py side runs without the CA bundle variables (see
ENVIRONMENT.md pitfalls). Everything carries dind.session=bench and the parent removes what is left.
"""
from __future__ import annotations

import io
import os
import sys
import tarfile
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (DIND_IMAGE, LABELS, SOCKET, Row, cleanup_engine, docker_py_env, emit, failed_row,  # noqa: E402
                    fmt, log, median, run_worker)

POLL = 0.1  # both sides poll at 0.1 s (common scripts use 0.25 s; 0.1 s is the fair, faster baseline)
CERTS = "/certs/client"


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used since boot (busy fields of /proc/stat's cpu line)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal: not idle/iowait
    return busy / os.sysconf("SC_CLK_TCK")


# ---- workers (fresh interpreters) --------------------------------------------------------------------------------
def dockerpy_worker() -> Dict[str, Any]:
    """The usual docker-py CI script: run privileged dind, poll for client certs, copy them, TLS ping, teardown."""
    import docker
    from docker.tls import TLSConfig

    outer = docker.DockerClient(base_url="unix://" + SOCKET)
    outer.ping()
    certdir = tempfile.mkdtemp(prefix="dind-bench-certs-")
    c = None
    try:
        t0 = time.perf_counter()
        c = outer.containers.run(DIND_IMAGE, privileged=True, detach=True, labels=LABELS,
                                 ports={"2376/tcp": ("127.0.0.1", None)})
        while True:  # the entrypoint writes ca.pem last into /certs/client
            if c.exec_run(["test", "-s", f"{CERTS}/ca.pem"]).exit_code == 0:
                break
            time.sleep(POLL)
        t_certs = time.perf_counter() - t0
        strm, _ = c.get_archive(CERTS)
        with tarfile.open(fileobj=io.BytesIO(b"".join(strm))) as tar:
            tar.extractall(certdir)
        c.reload()
        port = c.ports["2376/tcp"][0]["HostPort"]
        d = os.path.join(certdir, "client")
        tls = TLSConfig(client_cert=(os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")),
                        ca_cert=os.path.join(d, "ca.pem"), verify=True)
        while True:  # the client asks for the API version when made: make it in the loop, as scripts do
            try:
                inner = docker.DockerClient(base_url=f"https://127.0.0.1:{port}", tls=tls, timeout=10)
                if inner.ping():
                    break
            except Exception:  # noqa: BLE001 - not listening yet / TLS not up yet: poll again
                pass
            time.sleep(POLL)
        ready = time.perf_counter() - t0
        inner.close()
        t1 = time.perf_counter()
        c.stop()
        c.remove(v=True)
        teardown = time.perf_counter() - t1
        c = None
        return {"ready": ready, "teardown": teardown, "certs": t_certs}
    finally:
        if c is not None:
            c.remove(force=True, v=True)
        outer.close()
        import shutil

        shutil.rmtree(certdir, ignore_errors=True)


def dind_worker(count: int) -> Dict[str, Any]:
    """``count`` dind.Dind daemons started at once (threads): time until all answer a verified TLS ping, and the
    time until all are closed."""
    import dind

    dind.Client().ping()  # the outer engine client is not what is measured: load the extension first
    daemons: List[Optional[Any]] = [None] * count
    errors: List[BaseException] = []
    ready_at = [0.0] * count
    cpu0 = machine_cpu_seconds()
    t0 = time.perf_counter()

    def start(i: int) -> None:
        try:
            d = dind.Dind(DIND_IMAGE, labels=LABELS)
            daemons[i] = d
            if not d.client.ping():
                raise RuntimeError(f"{d.name}: ping did not answer OK")
            ready_at[i] = time.perf_counter() - t0
        except BaseException as e:  # noqa: BLE001 - reported by the parent
            errors.append(e)

    try:
        if count == 1:
            start(0)
        else:
            ts = [threading.Thread(target=start, args=(i,)) for i in range(count)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        if errors:
            raise errors[0]
        ready = max(ready_at)
        cpu = machine_cpu_seconds() - cpu0  # every process: inner and outer daemons, runc, proxies, this one
        timings = [d.timings for d in daemons if d is not None]
        t1 = time.perf_counter()
        if count == 1:
            daemons[0].close()
        else:
            ts = [threading.Thread(target=d.close) for d in daemons if d is not None]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        teardown = time.perf_counter() - t1
        return {"ready": ready, "teardown": teardown, "each_ready": ready_at, "timings": timings, "cpu": cpu}
    finally:
        for d in daemons:
            if d is not None:
                try:
                    d.close()
                except Exception:  # noqa: BLE001 - the parent's cleanup removes what is left
                    pass


# ---- parent ------------------------------------------------------------------------------------------------------
def _stats(xs: List[float]) -> str:
    return " ".join(f"{x:.2f}" for x in xs)


def run(quick: bool) -> List[Row]:
    reps = 2 if quick else 5
    rows: List[Row] = []
    only = set(filter(None, os.environ.get("DIND_BENCH_ONLY", "").split(",")))
    try:
        if not only or "start" in only:
            log("TLS daemon start and teardown, dind.Dind vs the docker-py script ...")
            rows.extend(_start_vs_baseline(reps))
        if not only or "start4" in only:
            log("4 daemons at once vs one ...")
            rows.extend(_four_at_once(reps))
    finally:
        gone = cleanup_engine()
        if gone:
            log(f"  cleanup removed leftover containers: {', '.join(gone)}")
    return rows


def _attempt(what: str, args: List[str], failures: List[BaseException],
             env: Optional[Dict[str, str]] = None) -> Optional[Dict[str, Any]]:
    """One worker run; on failure logs it, adds it to ``failures``, removes what it left and returns None."""
    try:
        return run_worker("lifecycle_bench", args, env=env)
    except Exception as e:  # noqa: BLE001 - a failed repetition is reported, the others still count
        failures.append(e)
        log(f"  {what} FAILED: {e}")
        cleanup_engine()
        return None


def _start_vs_baseline(reps: int) -> List[Row]:
    d_res: List[Dict[str, Any]] = []
    p_res: List[Dict[str, Any]] = []
    failures: List[BaseException] = []
    for i in range(reps):  # ABAB, each a fresh interpreter
        d = _attempt(f"dind start #{i + 1}", ["dind", "1"], failures)
        if d is not None:
            d_res.append(d)
        p = _attempt(f"docker-py start #{i + 1}", ["dockerpy"], failures, env=docker_py_env())
        if p is not None:
            p_res.append(p)
    log(f"  dind ready: {_stats([r['ready'] for r in d_res])} s; teardown {_stats([r['teardown'] for r in d_res])} s")
    log(f"  docker-py ready: {_stats([r['ready'] for r in p_res])} s (certs seen at "
        f"{_stats([r['certs'] for r in p_res])}); teardown {_stats([r['teardown'] for r in p_res])} s")
    if d_res:
        log(f"  dind timings (first run): {d_res[0]['timings'][0]}")
    rows: List[Row] = []
    if not d_res or not p_res:
        rows.append(failed_row("lifecycle", "time to verified TLS ping", "<= 0.4x baseline",
                               (failures or [RuntimeError("no result")])[0]))
        return rows
    dr, pr = median([r["ready"] for r in d_res]), median([r["ready"] for r in p_res])
    dt, pt = median([r["teardown"] for r in d_res]), median([r["teardown"] for r in p_res])
    rows.append(Row("lifecycle", "time to verified TLS ping (median)", fmt(dr, "s", 2), fmt(pr, "s (docker-py)", 2), dr / pr,
                    "<= 0.4x baseline", dr / pr <= 0.4))
    rows.append(Row("lifecycle", "teardown (median)", fmt(dt, "s", 2), fmt(pt, "s (stop+rm -v)", 2), dt / pt,
                    "<= 0.5 s and <= 0.5x", dt <= 0.5 and dt / pt <= 0.5))
    return rows


def _four_at_once(reps: int) -> List[Row]:
    one: List[float] = []
    one_cpu: List[float] = []
    four: List[float] = []
    four_td: List[float] = []
    failures: List[BaseException] = []
    for i in range(reps):  # ABAB
        r1 = _attempt(f"one daemon #{i + 1}", ["dind", "1"], failures)
        if r1 is not None:
            one.append(r1["ready"])
            one_cpu.append(r1["cpu"])
        r4 = _attempt(f"4 daemons #{i + 1}", ["dind", "4"], failures)
        if r4 is not None:
            four.append(r4["ready"])
            four_td.append(r4["teardown"])
    log(f"  one: {_stats(one)} s; four at once: {_stats(four)} s (teardown of four: {_stats(four_td)} s)")
    if not one or not four:
        return [failed_row("lifecycle", "4 daemons at once vs one", "<= 2x one", (failures or [RuntimeError("no result")])[0])]
    o, f, c = median(one), median(four), median(one_cpu)
    cores = os.cpu_count() or 1
    # Four starts need 4c CPU-seconds however they overlap: on `cores` CPUs they cannot all be ready before
    # 4c / cores, i.e. that many times one start's wall time.
    floor = 4 * c / cores / o
    log(f"  one start uses {c:.2f} CPU-s of the whole machine in {o:.2f} s; four at once on {cores} cores cannot "
        f"finish before {4 * c / cores:.2f} s = {floor:.2f}x one")
    return [Row("lifecycle", "4 daemons at once, all ready vs one", fmt(f, "s", 2), fmt(o, "s (one)", 2), f / o, "<= 2x one",
                f / o <= 2),
            Row("lifecycle", f"  CPU floor for 4 at once on {cores} cores (info)", fmt(4 * c / cores, "s", 2),
                fmt(c, "CPU-s per start", 2), floor, "- (4 x CPU / cores)", None)]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind = sys.argv[2]
        if kind == "dockerpy":
            emit(dockerpy_worker())
        elif kind == "dind":
            emit(dind_worker(int(sys.argv[3])))
        else:
            raise SystemExit(f"lifecycle_bench.py: unknown worker {kind!r}")
    else:
        raise SystemExit("run the benchmarks through bench/run.sh")
