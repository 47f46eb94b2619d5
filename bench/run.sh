#!/usr/bin/env bash
# The side-by-side benchmarks: dind vs docker-py 7.1 vs the raw floor, one run, one table.
#   bench/run.sh [--quick] [--only ping,threads,logs,exec,attach,getarchive,save,demux,archive,import,start,start4,
#                tunnel,jobready,plugin,kube]
#                [--json PATH]
# Builds nothing: uses the installed dind package (or PYTHONPATH) and bench/raw_ping, bench/demux_bench from
# $DIND_BUILD_DIR or build/release (scripts/build.sh). Needs the engine and the images busybox:latest and
# dind-offline:latest (scripts/engine.sh, scripts/images.sh). Containers carry dind.session=bench and are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
for image in busybox:latest dind-offline:latest; do
	docker image inspect "$image" >/dev/null 2>&1 || { echo "bench: image $image missing on the engine (scripts/images.sh)" >&2; exit 1; }
done
python3 -c 'import docker' 2>/dev/null || { echo "bench: docker-py missing (python3 -m pip install 'docker==7.1.*')" >&2; exit 1; }
exec python3 bench/run.py "$@"
