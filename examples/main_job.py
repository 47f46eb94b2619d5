"""The main job: start a throwaway Docker daemon, load a tiny image into it, run a container inside that prints a
line, tear it all down, and show how long each step took.

    python3 examples/main_job.py [--image IMAGE]     (default: $DIND_IMAGE, else docker:dind)
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import dind


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default=os.environ.get("DIND_IMAGE", "docker:dind"), help="the dind image")
    ap.add_argument("--inner-image", default="busybox:latest", help="image loaded into the daemon and run there")
    args = ap.parse_args()

    steps = []

    def step(name: str, t0: float) -> float:
        now = time.perf_counter()
        steps.append((name, now - t0))
        return now

    t = time.perf_counter()
    outer = dind.from_env()
    v = outer.version()
    t = step(f"connect to the engine ({v['Version']}, API {v['ApiVersion']})", t)

    d = dind.Dind(args.image, client=outer)
    t = step(f"start {d.name} and prove it answers over mutual TLS at {d.host}", t)
    try:
        d.load_images([args.inner_image])
        t = step(f"load {args.inner_image} into it (streamed from the engine)", t)
        out = d.client.containers.run(args.inner_image, ["echo", "hello from a container inside dind"], remove=True)
        t = step("run a container inside it", t)
        pings = []
        for _ in range(100):
            p = time.perf_counter()
            d.client.ping()
            pings.append(time.perf_counter() - p)
        t = time.perf_counter()
    finally:
        d.close()
    step("tear it down (container, volumes, certs)", t)

    print(out.decode().rstrip())
    print(f"ping over mutual TLS: median {statistics.median(pings) * 1e6:.0f} µs (100 pings)")
    print("start phases: " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in d.timings.items()))
    for name, seconds in steps:
        print(f"{seconds * 1e3:9.1f} ms  {name}")
    print(f"{sum(s for _, s in steps) * 1e3:9.1f} ms  in all")


if __name__ == "__main__":
    main()
