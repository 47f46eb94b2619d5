#!/usr/bin/env bash
# Writes python/dind/_core.pyi, the type stubs of the extension dind._core, with pybind11-stubgen from the dind
# installed in the python3 on PATH, or in $PYTHON (scripts/build.sh installs it). Run it after changing cpp/bindings/;
# tests/python/test_typing.py fails while the checked-in stubs differ from what this makes.
# --check: write nothing, print the difference and exit 1 if the checked-in stubs are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
stub=python/dind/_core.pyi
py=${PYTHON:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# From a directory without python/ on sys.path, so that the installed package (with its extension) is imported.
(cd "$out" && "$py" -m pybind11_stubgen --exit-code -o "$out/stubs" dind._core >"$out/log" 2>&1) || {
  cat "$out/log" >&2
  echo "stubs.sh: pybind11-stubgen failed on the dind._core installed in $py (log above)" >&2
  exit 1
}
made=$out/stubs/dind/_core.pyi
if [ "${1:-}" = --check ]; then
  diff -u "$stub" "$made" --label "$stub (checked in)" --label "$stub (from the installed dind._core)" || {
    echo "stubs.sh: $stub is stale; run scripts/stubs.sh and commit it" >&2
    exit 1
  }
else
  cp "$made" "$stub"
  echo "stubs.sh: wrote $stub"
fi
