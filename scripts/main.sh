#!/usr/bin/env bash
# The main job: provision and build on a fresh machine if needed, then run examples/main_job.py.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/provision.sh
scripts/build.sh
# No registry here: use the offline dind image unless told otherwise.
export DIND_IMAGE=${DIND_IMAGE:-dind-offline:latest}
exec python3 examples/main_job.py "$@"
