"""The main job: connect to the engine, print its version and how long a ping takes."""
from __future__ import annotations

import statistics
import time

import dind


def main() -> None:
    t0 = time.perf_counter()
    client = dind.from_env()
    client.ping()
    t_connect = time.perf_counter() - t0
    v = client.version()
    print(f"engine {v['Version']} (API {v['ApiVersion']}, {v['Os']}/{v['Arch']}) at {client.api.base_url}")
    samples = []
    for _ in range(200):
        t = time.perf_counter()
        client.ping()
        samples.append(time.perf_counter() - t)
    print(f"first ping (connect + negotiate): {t_connect * 1e3:.2f} ms")
    print(f"ping over a kept-alive connection: median {statistics.median(samples) * 1e6:.0f} µs (200 pings)")


if __name__ == "__main__":
    main()
