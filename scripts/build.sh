#!/usr/bin/env bash
# Build everything from this checkout: libdind, its GoogleTest tests and the examples with CMake (build/release),
# and the Python package (C++ extension included) installed into the python3 on PATH.
# Incremental: a second run rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${DIND_BUILD_DIR:-build/release}
quiet() { if [ -t 1 ]; then "$@"; else "$@" >/tmp/dind-build.log 2>&1 || { tail -n 60 /tmp/dind-build.log; return 1; }; fi; }

echo "build: C++ core, tests and examples -> $build"
quiet cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
quiet cmake --build "$build" -j "$(nproc)"

echo "build: Python package dind (pip install .)"
quiet python3 -m pip install --no-build-isolation --no-deps --disable-pip-version-check -q .
