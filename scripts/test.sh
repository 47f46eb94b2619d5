#!/usr/bin/env bash
# The whole test suite on any machine of this kind, fresh or warm: provision (packages, engine, offline images),
# build and install, then GoogleTest (ctest) and pytest. Exits non-zero if anything fails.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/provision.sh || exit 1
scripts/build.sh || exit 1

status=0
echo "test: GoogleTest (ctest)"
ctest --test-dir "${DIND_BUILD_DIR:-build/release}" --output-on-failure -j 2 || status=1
echo "test: pytest"
python3 -m pytest tests/python -q -p no:cacheprovider "$@" || status=1
exit $status
