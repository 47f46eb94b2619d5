"""A CI script with a throwaway Docker daemon: start it, load a test image, run a container inside, tear it down.

    DIND_IMAGE=docker:dind python examples/ci_script.py

No registry is needed for the test image: it is streamed from the outer engine into the throwaway daemon. Every step
prints how long it took. Whatever happens (an error, Ctrl-C, SIGTERM), the daemon is removed with its volumes and
its client certificates; a run killed with SIGKILL is cleaned up by the next `dind prune`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import dind

IMAGE = os.environ.get("DIND_IMAGE", "docker:dind")  # the dind image; the tests use dind-offline:latest
TEST_IMAGE = os.environ.get("TEST_IMAGE", "busybox:latest")  # must exist on the outer engine


def step(what: str, t0: float) -> float:
    now = time.perf_counter()
    print(f"{what:<40} {now - t0:6.2f} s", flush=True)
    return now


def main() -> int:
    t = time.perf_counter()
    with dind.Dind(image=IMAGE) as d:
        t = step(f"start {d.name} (TLS ping OK)", t)
        for phase in ("certs", "create", "start", "ready"):
            print(f"  {phase:<38} {d.timings[phase]:6.2f} s")

        d.load_images([TEST_IMAGE])
        t = step(f"load {TEST_IMAGE}", t)

        out = d.client.containers.run(TEST_IMAGE, ["echo", "hello from inside a throwaway dind"], remove=True)
        t = step("run a container inside", t)
        print(out.decode().strip())

        # The environment works as is with the docker CLI (and any other client) too.
        if shutil.which("docker"):
            cli = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                                 env={**os.environ, **d.env}, capture_output=True, text=True)
            t = step(f"docker CLI: server {cli.stdout.strip() or cli.stderr.strip()}", t)
        t_down = time.perf_counter()
    step("teardown (container, volumes, certs)", t_down)
    return 0


if __name__ == "__main__":
    sys.exit(main())
