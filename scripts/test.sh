#!/usr/bin/env bash
# The whole test suite on any machine of this kind, fresh or warm: provision (packages, engine, offline images),
# build and install, then GoogleTest (ctest), pytest, the sanitizer builds and the fuzzers. Exits non-zero if
# anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/provision.sh || exit 1
scripts/build.sh || exit 1

status=0
echo "test: GoogleTest (ctest)"
ctest --test-dir "${DIND_BUILD_DIR:-build/release}" --output-on-failure -j 2 || status=1
echo "test: pytest"
python3 -m pytest tests/python -q -p no:cacheprovider "$@" || status=1
# Hardening (issue 5), C++ only: the GoogleTest tests under ASan+UBSan and TSan, then every libFuzzer target for a
# short fixed number of runs (scripts/fuzz.sh --time S for a long run).
echo "test: sanitizers (C++ tests under ASan+UBSan, and TSan)"
scripts/sanitize.sh || status=1
echo "test: fuzzing (libFuzzer, short runs)"
scripts/fuzz.sh || status=1
exit $status
