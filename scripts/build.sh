#!/usr/bin/env bash
# Build everything from this checkout: libdind, its GoogleTest tests and the examples with CMake (build/release),
# and the Python package (C++ extension included) as one wheel in build/wheel/, installed into the python3 on PATH.
# The tests put that very wheel into their CI job images (tests/python/jobs.py).
# Incremental: a second run rebuilds only what changed. The wheel has fixed timestamps, so an unchanged build gives
# a byte-identical wheel (the file and its mtime are then left alone), and a wheel already installed into this
# python3 (its RECORD matches) is not installed again.
# Env: DIND_BUILD_DIR (CMake build dir), DIND_WHEEL_DIR (where the wheel goes).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${DIND_BUILD_DIR:-build/release}
wheel_dir=${DIND_WHEEL_DIR:-build/wheel}
mkdir -p build "$wheel_dir"
log=$PWD/build/build.log
die() { echo "build.sh: $*" >&2; exit 1; }
quiet() { if [ -t 1 ]; then "$@"; else "$@" >"$log" 2>&1 || { tail -n 60 "$log"; return 1; }; fi; }

py=$(command -v python3) || die "python3 is not on PATH"
# ccache hits across checkouts: paths under this one hash as relative, and -g builds ignore the directory.
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1} CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

echo "build: C++ core, tests and examples -> $build"
quiet cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release || die "CMake configure of $build failed (log above)"
quiet cmake --build "$build" -j "$(nproc)" || die "CMake build of $build failed (log above)"

echo "build: Python package dind -> $wheel_dir (pip wheel), installed into $py"
new=$wheel_dir/.new
rm -rf "$new"
# 1980-01-01, the earliest time a zip can hold: the wheel's bytes then depend only on what is in it.
SOURCE_DATE_EPOCH=315532800 quiet "$py" -m pip wheel --no-build-isolation --no-deps --disable-pip-version-check -q \
  -w "$new" . || die "pip wheel of the dind package failed with $py (log above)"
shopt -s nullglob
made=("$new"/dind-*.whl)
[ "${#made[@]}" -eq 1 ] || die "pip wheel left ${#made[@]} dind wheels in $new, expected one"
wheel=$wheel_dir/${made[0]##*/}
if [ -f "$wheel" ] && cmp -s "${made[0]}" "$wheel"; then
  rm -rf "$new"
else
  rm -f "$wheel_dir"/dind-*.whl
  mv "${made[0]}" "$wheel"
  rm -rf "$new"
fi

# Installed already? Every file the wheel's RECORD lists, with the same hash, in this interpreter's own
# site-packages (not one it merely sees, like a venv's system site).
if ! "$py" - "$wheel" <<'EOF'; then
import csv, io, sys, sysconfig, zipfile
from importlib import metadata

with zipfile.ZipFile(sys.argv[1]) as z:
    record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    want = {row[0]: row[1] for row in csv.reader(io.TextIOWrapper(z.open(record))) if row and row[1]}
own = list(dict.fromkeys([sysconfig.get_paths()["platlib"], sysconfig.get_paths()["purelib"]]))
for dist in metadata.distributions(name="dind", path=own):
    have = {row[0]: row[1] for row in csv.reader(io.StringIO(dist.read_text("RECORD") or "")) if len(row) > 1}
    if all(have.get(path) == digest for path, digest in want.items()):
        sys.exit(0)
sys.exit(1)
EOF
  quiet "$py" -m pip install --no-build-isolation --no-deps --force-reinstall --disable-pip-version-check -q \
    "$wheel" || die "pip install $wheel into $py failed (log above)"
fi
