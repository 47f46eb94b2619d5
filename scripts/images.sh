#!/usr/bin/env bash
# Build the offline images the project's tests use, on an engine that has no registry (ENVIRONMENT.md):
#   busybox:latest       a ~2 MB rootfs of busybox-static, one symlink per applet
#   dind-offline:latest  Debian bookworm (debootstrap) + docker.io + our entrypoint (scripts/dind-image/), which
#                        honours the docker:dind image contract (ARCHITECTURE.md); also python3, pip, pytest and
#                        libarchive13 (which the extension loads at run time), so that the tests' CI job images can
#                        be it plus the dind wheel (tests/python/jobs.py)
#   dind-bare-python:latest  Debian bookworm minbase with python3 and python3-venv only (no libarchive13, no pip in
#                        the system): where the tests install the repaired wheel (tests/python/test_wheel.py); its
#                        rootfs tarball is kept in $DIND_CACHE (default /var/cache/dind), keyed by its recipe
# Idempotent and quiet when both are present. A changed entrypoint is swapped into the existing image (seconds);
# a changed recipe (recipe_* below) rebuilds it. Needs root, debootstrap and busybox-static only when it builds.
# Env: DIND_DEBIAN_MIRROR overrides the mirror read from the apt sources.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
entrypoint_src=$here/dind-image/dockerd-entrypoint.sh
lock=/run/lock/dind-images.lock

# Bump when what goes into an image changes (not the entrypoint, which is tracked by its hash).
recipe_busybox=1
recipe_dind=3
recipe_bare=1
bare_packages=python3,python3-venv
cache=${DIND_CACHE:-/var/cache/dind}
dind_packages=docker.io,iptables,openssl,ca-certificates,procps,iproute2,python3,python3-pip,python3-pytest,libarchive13
suite=bookworm

die() { echo "images.sh: $*" >&2; exit 1; }
step() { echo "images.sh: $*" >&2; }

# One inspect of all three images (a warm run costs one CLI call); a line per found image:
# ",tag,tag,|recipe|entrypoint-sha".
load_state() {
  state=$(docker image inspect -f \
    ',{{range .RepoTags}}{{.}},{{end}}|{{index .Config.Labels "dind.recipe"}}|{{index .Config.Labels "dind.entrypoint.sha256"}}' \
    busybox:latest dind-offline:latest dind-offline:base dind-bare-python:latest 2>/dev/null || :)
}
# label IMAGE recipe|sha: the label of a present image, empty if absent.
label() {
  awk -F'|' -v tag=",$1," -v f="$2" 'index($1, tag) { print (f == "recipe" ? $2 : $3); exit }' <<<"$state"
}

[ -r "$entrypoint_src" ] || die "entrypoint $entrypoint_src is missing"
entrypoint_sha=$(sha256sum "$entrypoint_src" | cut -d' ' -f1)

busybox_ok() { [ "$(label busybox:latest recipe)" = "$recipe_busybox" ]; }
# dind-offline:base is the imported rootfs; :latest is it, or it plus a newer entrypoint (see refresh_entrypoint).
dind_ok() {
  [ "$(label dind-offline:latest recipe)" = "$recipe_dind" ] && [ "$(label dind-offline:base recipe)" = "$recipe_dind" ]
}
dind_fresh() { dind_ok && [ "$(label dind-offline:latest sha)" = "$entrypoint_sha" ]; }
bare_ok() { [ "$(label dind-bare-python:latest recipe)" = "$recipe_bare" ]; }

load_state
busybox_ok && dind_fresh && bare_ok && exit 0

docker version -f '{{.Server.Version}}' >/dev/null 2>&1 ||
  die "no Docker engine answers (run scripts/engine.sh, or scripts/provision.sh as root)"
[ "$(id -u)" = 0 ] || die "busybox:latest, dind-offline:latest or dind-bare-python:latest must be built, which needs root (run: sudo $0)"
# Two runs at once (e.g. parallel CI steps) would both build; the second waits, then finds the images present.
mkdir -p "$(dirname "$lock")"
exec 9>"$lock"
flock 9
load_state
busybox_ok && dind_fresh && bare_ok && exit 0

tmp=$(mktemp -d /var/tmp/dind-images.XXXXXX)
tmp_ctr=""
cleanup() {
  [ -z "$tmp_ctr" ] || docker rm -fv "$tmp_ctr" >/dev/null 2>&1 || :
  # debootstrap mounts proc/sys/dev inside the target; a failed run can leave them: unmount before deleting.
  awk -v t="$tmp" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || :
  done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The Debian mirror this machine already uses (deb822 *.sources first, then one-line *.list / sources.list).
debian_mirror() {
  if [ -n "${DIND_DEBIAN_MIRROR:-}" ]; then echo "$DIND_DEBIAN_MIRROR"; return; fi
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri=$(awk -v s="$suite" '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && (" " comps " ") ~ / main / &&
            tolower(enabled) != "no" && uris != "" && !found) { split(uris, u, " "); print u[1]; found = 1 }
        types = suites = comps = uris = enabled = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "") }
      key == "types" { types = $0 } key == "suites" { suites = $0 } key == "components" { comps = $0 }
      key == "uris" { uris = $0 } key == "enabled" { enabled = $0 }
      END { flush() }' "$f")
    [ -z "$uri" ] || { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    uri=$(awk -v s="$suite" '
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == s) { for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit } } }' "$f")
    [ -z "$uri" ] || { echo "$uri"; return; }
  done
}

build_busybox() {
  local root=$tmp/busybox applet
  [ -x /bin/busybox ] || die "/bin/busybox is missing (apt-get install busybox-static, or run scripts/provision.sh)"
  step "busybox:latest: making the rootfs from /bin/busybox"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,proc,sys,dev,tmp,var/tmp}
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 0700 "$root/root"
  step "busybox:latest: importing"
  tar --numeric-owner -C "$root" -cf - . |
    docker import --change 'ENV PATH=/bin:/sbin:/usr/bin' --change 'CMD ["sh"]' \
      --change "LABEL dind.recipe=$recipe_busybox" - busybox:latest >/dev/null
  rm -rf "$root"
}

build_dind() {
  local root=$tmp/dind mirror log=$tmp/debootstrap.log t
  command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap, or run scripts/provision.sh)"
  mirror=$(debian_mirror)
  [ -n "$mirror" ] ||
    die "no Debian mirror for $suite (main) found in /etc/apt/sources.list{,.d/*.sources,.d/*.list}; set DIND_DEBIAN_MIRROR"
  step "dind-offline:latest: debootstrap $suite from $mirror (1 min on an idle machine, longer under load)"
  if ! debootstrap --variant=minbase --include="$dind_packages" "$suite" "$root" "$mirror" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "debootstrap $suite from $mirror into $root failed (see the lines above)"
  fi
  for t in usr/sbin/dockerd usr/bin/containerd usr/sbin/runc usr/bin/docker usr/bin/docker-init usr/bin/openssl \
    usr/sbin/iptables-legacy usr/sbin/iptables-nft bin/ip usr/bin/python3 usr/bin/pip3 usr/bin/pytest; do
    [ -x "$root/$t" ] || die "debootstrap finished but /$t is missing from the dind rootfs ($root)"
  done
  compgen -G "$root/usr/lib/*/libarchive.so.13" >/dev/null ||
    die "debootstrap finished but libarchive.so.13 is missing from the dind rootfs ($root)"
  step "dind-offline:latest: adding the entrypoint and trimming the rootfs"
  install -m 0755 "$entrypoint_src" "$root/usr/local/bin/dockerd-entrypoint.sh"
  # The official image selects legacy iptables by putting these first on PATH; the entrypoint does the same.
  mkdir -p "$root/usr/local/sbin/.iptables-legacy"
  for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    ln -sf "/usr/sbin/$t-legacy" "$root/usr/local/sbin/.iptables-legacy/$t"
  done
  # /certs and /certs/client exist and are world-writable like in docker:dind, so `docker cp` into them works.
  mkdir -p "$root/certs/client"
  chmod 1777 "$root/certs" "$root/certs/client"
  # The engine provides these at run time; do not bake in the build host's.
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* \
    "$root"/usr/share/info/* "$root"/usr/share/locale/*
  find "$root/usr/share/doc" -type f ! -name copyright -delete
  step "dind-offline:latest: importing"
  tar --numeric-owner -C "$root" -cf - . |
    docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV DOCKER_TLS_CERTDIR=/certs' \
      --change 'VOLUME /var/lib/docker' \
      --change 'EXPOSE 2375 2376' \
      --change 'ENTRYPOINT ["/usr/local/bin/dockerd-entrypoint.sh"]' \
      --change 'CMD []' \
      --change "LABEL dind.recipe=$recipe_dind dind.entrypoint.sha256=$entrypoint_sha" \
      - dind-offline:base >/dev/null
  docker tag dind-offline:base dind-offline:latest
  rm -rf --one-file-system "$root"
}

# The bare Python image, from its rootfs tarball in the cache (made once by debootstrap, keyed by the recipe).
build_bare() {
  local root=$tmp/bare mirror log=$tmp/debootstrap-bare.log
  local tarball=$cache/rootfs/bare-python-$suite-$(printf '%s\n' "$recipe_bare" "$bare_packages" | sha256sum | cut -c1-12).tar
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap, or run scripts/provision.sh)"
    mirror=$(debian_mirror)
    [ -n "$mirror" ] || die "no Debian mirror for $suite (main) found in the apt sources; set DIND_DEBIAN_MIRROR"
    step "dind-bare-python:latest: debootstrap $suite ($bare_packages) from $mirror (about 1 min)"
    if ! debootstrap --variant=minbase --include="$bare_packages" "$suite" "$root" "$mirror" >"$log" 2>&1; then
      tail -n 20 "$log" >&2
      die "debootstrap $suite from $mirror into $root failed (see the lines above)"
    fi
    [ -x "$root/usr/bin/python3" ] || die "debootstrap finished but /usr/bin/python3 is missing from $root"
    ! compgen -G "$root/usr/lib/*/libarchive.so.13" >/dev/null ||
      die "the bare rootfs ($root) has libarchive.so.13, which it must not (it proves the wheel carries its own)"
    : >"$root/etc/resolv.conf"
    : >"$root/etc/hostname"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/man/* \
      "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/doc/*
    mkdir -p "$cache/rootfs"
    tar --numeric-owner -C "$root" -cf "$tarball.new" . && mv "$tarball.new" "$tarball"
    rm -rf --one-file-system "$root"
  fi
  step "dind-bare-python:latest: importing $tarball"
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' --change "LABEL dind.recipe=$recipe_bare" "$tarball" dind-bare-python:latest >/dev/null
}

# Only the entrypoint changed: put the new one on top of :base (one small layer) instead of a 1-min rebuild.
# The temporary container carries no label on purpose: commit would copy it into the image and every container.
refresh_entrypoint() {
  if [ "$(label dind-offline:base sha)" = "$entrypoint_sha" ]; then
    docker tag dind-offline:base dind-offline:latest
    return
  fi
  step "dind-offline:latest: swapping in the changed entrypoint"
  tmp_ctr=$(docker create dind-offline:base)
  docker cp "$entrypoint_src" "$tmp_ctr:/usr/local/bin/dockerd-entrypoint.sh"
  docker commit --change "LABEL dind.entrypoint.sha256=$entrypoint_sha" "$tmp_ctr" dind-offline:latest >/dev/null
  docker rm -fv "$tmp_ctr" >/dev/null
  tmp_ctr=""
}

busybox_ok || build_busybox
bare_ok || build_bare
if ! dind_ok; then
  build_dind
elif ! dind_fresh; then
  refresh_entrypoint
fi
# Images left untagged by a rebuild or refresh are ours; containers still using them keep them alive.
docker image prune -f --filter 'label=dind.recipe' >/dev/null 2>&1 || :
