"""The Kubernetes backend: time to a ready daemon (a verified ping through the API server's exec) on the test
cluster of scripts/cluster.sh vs on the Docker engine, interleaved in one run, and each one's teardown.

Needs KUBECONFIG (``scripts/cluster.sh start``, then what ``scripts/cluster.sh env`` prints); the cluster's one node
is named in BENCH_KUBE_NODE (default ``localhost``: the test cluster has no scheduler).
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List

from common import DIND_IMAGE, LABELS, Row, failed_row, fmt, log, median


def _once(kw: Dict[str, Any]) -> Dict[str, float]:
    import dind

    t0 = time.perf_counter()
    d = dind.Dind(DIND_IMAGE, pull="never", labels=LABELS, **kw)
    ready = time.perf_counter() - t0
    t1 = time.perf_counter()
    d.close()
    return {"ready": ready, "teardown": time.perf_counter() - t1}


def run(quick: bool) -> List[Row]:
    kubeconfig = os.environ.get("KUBECONFIG", "")
    if not kubeconfig:
        return [failed_row("lifecycle", "time to ready, a pod on the cluster", "- (info)",
                           RuntimeError("KUBECONFIG is not set (scripts/cluster.sh start; scripts/cluster.sh env)"))]
    sides = {"kubernetes": {"backend": "kubernetes", "kubeconfig": kubeconfig,
                            "node": os.environ.get("BENCH_KUBE_NODE", "localhost")},
             "docker": {}}
    reps = 2 if quick else 5
    got: Dict[str, List[Dict[str, float]]] = {k: [] for k in sides}
    for r in range(reps + 1):  # round 0 warms both (image caches, the API server's connections)
        for name, kw in sides.items():
            t = _once(kw)
            if r:
                got[name].append(t)
    for name, ts in got.items():
        ready = " ".join(f"{t['ready']:.2f}" for t in ts)
        down = " ".join(f"{t['teardown']:.2f}" for t in ts)
        log(f"  {name}: ready {ready} s, teardown {down} s")
    kr, dr = median([t["ready"] for t in got["kubernetes"]]), median([t["ready"] for t in got["docker"]])
    kt, dt = median([t["teardown"] for t in got["kubernetes"]]), median([t["teardown"] for t in got["docker"]])
    raw = {"runs": got}
    return [Row("lifecycle", "time to ready, a pod on the cluster vs the engine (median)", fmt(kr, "s", 2),
                fmt(dr, "s (docker backend)", 2), kr / dr, "- (info)", None, raw=raw),
            Row("lifecycle", "teardown, pod + Secret vs container (median)", fmt(kt, "s", 2),
                fmt(dt, "s (docker backend)", 2), kt / dt, "- (info)", None)]
