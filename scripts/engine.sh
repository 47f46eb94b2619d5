#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock; start Debian's dockerd if none does.
# Idempotent and quiet when the engine is already up. Needs root and the docker.io package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sock=/var/run/docker.sock
log=/var/log/dockerd.log

die() { echo "engine.sh: $*" >&2; exit 1; }
ping_ok() { [ "$(curl -s -m 2 --unix-socket "$sock" http://docker/_ping 2>/dev/null)" = OK ]; }

ping_ok && exit 0
[ "$(id -u)" = 0 ] || die "no engine answers on $sock and starting one needs root (run as root, or start dockerd yourself)"
command -v dockerd >/dev/null || die "dockerd is not installed (run scripts/provision.sh, or apt-get install docker.io)"

if pgrep -x dockerd >/dev/null; then
  echo "engine.sh: a dockerd process runs but does not answer on $sock yet; waiting for it" >&2
else
  # A dockerd that was killed leaves its pid file, and the next one refuses to start.
  for pidfile in /var/run/docker.pid /run/containerd/containerd.pid /var/run/docker/containerd/containerd.pid; do
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; then rm -f "$pidfile"; fi
  done
  args=()
  # --privileged asks for every capability; where the bounding set lacks CAP_SYS_RESOURCE (bit 24),
  # runc cannot grant it, so register the wrapper that drops it (ENVIRONMENT.md).
  capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  if (( (16#$capbnd >> 24 & 1) == 0 )); then
    install -D -m 0755 "$here/runc-wrapper" /usr/local/lib/dind/runc-wrapper
    args+=(--add-runtime "dind-runc=/usr/local/lib/dind/runc-wrapper" --default-runtime dind-runc)
  fi
  setsid nohup dockerd "${args[@]}" >>"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 600); do
  ping_ok && exit 0
  sleep 0.1
done
echo "engine.sh: dockerd did not answer /_ping on $sock within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
