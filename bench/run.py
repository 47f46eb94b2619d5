"""Entry point of the side-by-side benchmarks (use bench/run.sh).

Prints each figure as it is measured, then one table: figure, dind, baseline, ratio, target, met?.
Options: --quick (fewer repetitions), --only KEY[,KEY] (ping, threads, logs, exec, attach, getarchive, save, demux,
archive, import, start, start4, tunnel, jobready, plugin; kube only when named: it needs the test cluster of
scripts/cluster.sh), --json PATH (the rows, for tooling). Nothing here asserts a
time.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import client_bench  # noqa: E402
import kube_bench  # noqa: E402
import lifecycle_bench  # noqa: E402
import plugin_bench  # noqa: E402
import reach_bench  # noqa: E402
from common import HERE, Row, cleanup_engine, log  # noqa: E402

CLIENT_KEYS = {"ping", "threads", "logs", "exec", "attach", "getarchive", "save", "demux", "archive", "import"}
LIFECYCLE_KEYS = {"start", "start4"}
REACH_KEYS = {"tunnel", "jobready"}
PLUGIN_KEYS = {"plugin"}
KUBE_KEYS = {"kube"}  # needs the test cluster: only when asked for


def find_tool(name: str) -> Optional[str]:
    """bench/<name> from $DIND_BUILD_DIR, else build/release (what scripts/build.sh makes)."""
    root = os.path.dirname(HERE)
    dirs = [os.environ.get("DIND_BUILD_DIR", ""), os.path.join(root, "build", "release")]
    for d in dirs:
        if not d:
            continue
        p = os.path.join(d if os.path.isabs(d) else os.path.join(root, d), "bench", name)
        if os.access(p, os.X_OK):
            return p
    return None


def table(rows: List[Row]) -> str:
    head = ["area", "figure", "dind", "baseline", "ratio", "target", "met?"]
    body = []
    for r in rows:
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        body.append([r.area, r.figure, r.dind, r.baseline, "-" if r.ratio is None else f"{r.ratio:.2f}x",
                     r.target, met])
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(b) for b in body]
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note]
    return "\n".join(out + ([""] + notes if notes else []))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 repetitions per side, fewer samples")
    ap.add_argument("--only", default="", help="comma-separated benchmark keys")
    ap.add_argument("--json", default="", help="also write the rows as JSON to this path")
    a = ap.parse_args()
    if a.only:
        unknown = set(a.only.split(",")) - CLIENT_KEYS - LIFECYCLE_KEYS - REACH_KEYS - PLUGIN_KEYS - KUBE_KEYS
        if unknown:
            ap.error(f"unknown benchmark keys: {', '.join(sorted(unknown))}")
        os.environ["DIND_BENCH_ONLY"] = a.only
    only = set(filter(None, a.only.split(",")))

    import dind

    raw_ping, demux_bench = find_tool("raw_ping"), find_tool("demux_bench")
    log(f"dind from {os.path.dirname(dind.__file__)}; raw_ping: {raw_ping}; demux_bench: {demux_bench}")
    log(f"{platform.node()} {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}, "
        f"mode {'quick' if a.quick else 'full'}, {time.strftime('%Y-%m-%d %H:%M:%S')}")
    t0 = time.perf_counter()
    rows: List[Row] = []
    try:
        if not only or only & CLIENT_KEYS:
            rows += client_bench.run(a.quick, raw_ping, demux_bench)
        if not only or only & LIFECYCLE_KEYS:
            rows += lifecycle_bench.run(a.quick)
        if not only or only & REACH_KEYS:
            rows += reach_bench.run(a.quick)
        if not only or only & PLUGIN_KEYS:
            rows += plugin_bench.run(a.quick)
        if only & KUBE_KEYS:
            rows += kube_bench.run(a.quick)
    finally:
        gone = cleanup_engine()
        if gone:
            log(f"cleanup removed leftover containers: {', '.join(gone)}")
    log(f"\nbench/run.sh {'--quick ' if a.quick else ''}— {time.perf_counter() - t0:.0f} s, "
        f"load {os.getloadavg()[0]:.1f} at the end\n")
    print(table(rows), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump([dataclasses.asdict(r) for r in rows], f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
