"""Shared pieces of the side-by-side benchmarks: medians, result rows, fresh-subprocess workers, engine cleanup.

Nothing here asserts a time: a benchmark measures, prints and compares against its targets.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

SESSION = "bench"  # every container a benchmark makes carries dind.session=bench
LABELS = {"dind.session": SESSION}
SOCKET = "/var/run/docker.sock"
BUSYBOX = "busybox:latest"
DIND_IMAGE = "dind-offline:latest"
HERE = os.path.dirname(os.path.abspath(__file__))
# requests lets these win over docker-py's explicit ca_cert (ENVIRONMENT.md pitfalls); dind ignores them.
CA_ENV = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def log(msg: str) -> None:
    print(msg, file=sys.stderr if os.environ.get("DIND_BENCH_QUIET") else sys.stdout, flush=True)


@dataclass
class Row:
    """One line of the final table. ``ratio`` is whatever the target is stated in (see ``target``)."""

    area: str  # client, lifecycle, reach
    figure: str
    dind: str
    baseline: str
    ratio: Optional[float]
    target: str
    met: Optional[bool]
    note: str = ""
    raw: Dict[str, Any] = field(default_factory=dict)


def fmt(value: Optional[float], unit: str, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    return f"{value:.{digits}f} {unit}".strip()


def failed_row(area: str, figure: str, target: str, err: BaseException) -> Row:
    msg = f"{type(err).__name__}: {err}".replace("\n", " ")
    return Row(area, figure, "FAILED", "", None, target, None, note=msg[:300])


def vm_status() -> Dict[str, int]:
    """VmRSS / VmHWM of this process in KiB."""
    text = open("/proc/self/status").read()
    return {k: int(re.search(k + r":\s+(\d+)", text).group(1)) for k in ("VmRSS", "VmHWM")}


def reset_peak_rss() -> None:
    """Makes VmHWM start again from the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def docker_py_env() -> Dict[str, str]:
    """The environment for a docker-py subprocess: without the CA bundle overrides that break its TLS."""
    env = dict(os.environ)
    for k in CA_ENV:
        env.pop(k, None)
    return env


def run_worker(module: str, args: Sequence[str], env: Optional[Dict[str, str]] = None,
               timeout: float = 600) -> Dict[str, Any]:
    """Runs ``python3 bench/<module>.py --worker args...`` in a fresh interpreter; returns its last JSON line."""
    cmd = [sys.executable, os.path.join(HERE, module + ".py"), "--worker", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise RuntimeError(f"worker {module} {' '.join(args)} exited {p.returncode}: {tail}")
    return json.loads(lines[-1])


def emit(result: Dict[str, Any]) -> None:
    """A worker's answer to its parent: one JSON line on stdout."""
    print(json.dumps(result), flush=True)


def docker_py_client(**kw: Any) -> Any:
    import docker  # docker-py 7.1, only for the baseline and for cleanup

    return docker.DockerClient(base_url="unix://" + SOCKET, **kw)


def cleanup_engine() -> List[str]:
    """Removes every container (with its volumes) labelled dind.session=bench; returns their names."""
    client = docker_py_client()
    gone = []
    try:
        for c in client.containers.list(all=True, filters={"label": f"dind.session={SESSION}"}):
            try:
                c.remove(force=True, v=True)
                gone.append(c.name)
            except Exception as e:  # noqa: BLE001 - one stuck container must not stop the others' removal
                log(f"cleanup: cannot remove container {c.name}: {e}")
    finally:
        client.close()
    return gone


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
