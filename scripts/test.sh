#!/usr/bin/env bash
# The whole test suite on any machine of this kind, fresh or warm: provision (packages, engine, offline images),
# build and install, a one-node Kubernetes cluster (scripts/cluster.sh; stopped at the end), then GoogleTest (ctest),
# pytest, the sanitizer builds and the fuzzers. Prints each stage's time; exits non-zero if anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
# ccache across clones: -g builds hash the build dir unless told not to, and absolute paths differ per clone.
export CCACHE_NOHASHDIR=1 CCACHE_BASEDIR=$PWD

status=0
t_all=$SECONDS
# run NAME COMMAND...: runs it, prints its time, records a failure.
run() {
  local name=$1 t0=$SECONDS rc
  shift
  echo "test: $name"
  "$@"
  rc=$?
  printf 'test: %s took %dm%02ds%s\n' "$name" $(((SECONDS - t0) / 60)) $(((SECONDS - t0) % 60)) \
    "$([ $rc -eq 0 ] || echo " (FAILED, status $rc)")"
  [ $rc -eq 0 ] || status=1
  return $rc
}

run "provision (packages, engine, images)" scripts/provision.sh || exit 1
run "build (C++ core, tests, wheel)" scripts/build.sh || exit 1
# The sdist and a repaired manylinux wheel per CPython (dist/), for tests/python/test_wheel.py.
run "wheels (sdist, one per CPython, auditwheel repair)" scripts/wheel.sh
# A one-node Kubernetes cluster on 127.0.0.1 for the Kubernetes backend's tests (its binaries built once per machine
# into /var/cache/dind/kube), stopped when this script ends.
cluster_up() { scripts/cluster.sh build && scripts/cluster.sh start >/dev/null; }
trap 'scripts/cluster.sh stop' EXIT
run "cluster (kube binaries cached per machine; etcd, API servers, containerd, kubelet)" cluster_up || exit 1
while IFS='=' read -r k v; do export "$k=$v"; done < <(scripts/cluster.sh env)
run "GoogleTest (ctest)" ctest --test-dir "${DIND_BUILD_DIR:-build/release}" --output-on-failure -j 2
run "pytest" python3 -m pytest tests/python -q -p no:cacheprovider "$@"
# C++ only: the GoogleTest tests under ASan+UBSan and TSan, then every libFuzzer target for a short fixed number of
# runs (scripts/fuzz.sh --time S for a long run).
run "sanitizers (C++ tests under ASan+UBSan, and TSan)" scripts/sanitize.sh
run "fuzzing (libFuzzer, short runs)" scripts/fuzz.sh
printf 'test: all stages took %dm%02ds; %s\n' $(((SECONDS - t_all) / 60)) $(((SECONDS - t_all) % 60)) \
  "$([ $status -eq 0 ] && echo passed || echo FAILED)"
exit $status
