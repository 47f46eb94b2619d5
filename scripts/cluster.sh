#!/usr/bin/env bash
# A real one-node Kubernetes cluster on this machine, offline, for the tests (research/reach-and-clusters.md, sec. 4).
#   build   install the Debian packages it needs, build kube-apiserver, kubelet and kubectl from Debian's own
#           `kubernetes` source package (1.20; kubelet patched to leave host sysctls alone, reflect2 swapped for one
#           that works with bookworm's Go) and a static pause image; all cached in $DIND_KUBE_CACHE/<source version>/
#           (default /var/cache/dind/kube; Go's build cache in its gocache/). Warm: nothing to do, < 2 s.
#   start [--state DIR]   etcd, two kube-apiservers (privileged allowed / refused), a private containerd, CNI, a
#           kubelet, images and RBAC; all on 127.0.0.1 and unix sockets under DIR (default /run/dind-cluster).
#           Prints the KUBECONFIG line. Returns at once when the cluster already runs and is healthy.
#   stop [--state DIR]    stops all of it, unmounts what kubelet/containerd mounted, deletes the bridge, removes DIR.
#   env [--state DIR]     prints KUBECONFIG=DIR/kubeconfig and the API servers' URLs.
# Needs root. Never touches the machine engine's containerd (/run/containerd) or its state.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${DIND_KUBE_CACHE:-/var/cache/dind/kube}
state=/run/dind-cluster
apt_log=/var/log/dind-cluster-apt.log

die() { echo "cluster.sh: $*" >&2; exit 1; }
say() { echo "cluster.sh: $*" >&2; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }
# took T0 WHAT: prints how long WHAT took since T0 (from now_ms).
took() { local d=$(($(now_ms) - $1)); say "$(printf '%s took %d.%02d s' "$2" $((d / 1000)) $((d % 1000 / 10)))"; }

# --- packages ------------------------------------------------------------------------------------------------------
# need_packages PKG...: installs those that are not installed (one dpkg-query; apt only when something is missing).
need_packages() {
  local missing
  mapfile -t missing < <(
    dpkg-query -W -f='${binary:Package} ${db:Status-Status}\n' "$@" 2>/dev/null |
      awk '$2 == "installed" { sub(/:.*/, "", $1); ok[$1] = 1 }
           END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in ok)) print w[i] }' want="$*"
  )
  [ "${#missing[@]}" -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || die "packages ${missing[*]} are missing and installing them needs root"
  local t0
  t0=$(now_ms)
  say "installing Debian packages: ${missing[*]} (log: $apt_log)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >"$apt_log" 2>&1 || die "apt-get update failed (no network to the Debian archive?); see $apt_log"
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1 ||
    die "apt-get install ${missing[*]} failed; see $apt_log"
  took "$t0" "installing ${missing[*]}"
}
# What start needs at run time (build needs these too: it checks that the cluster can start).
run_packages=(etcd-server containerd runc containernetworking-plugins iptables iproute2 openssl jq curl)
# golang-github-modern-go-reflect2-dev: reflect2 1.0.2, which the source's vendored 1.0.1 is swapped for (see cmd_build).
build_packages=(golang-go rsync gcc libc6-dev dpkg-dev golang-github-modern-go-reflect2-dev)

# The version of Debian's kubernetes source package (that of kubernetes-client, which it builds); empty if apt does
# not know it (no lists yet).
source_version() {
  apt-cache show --no-all-versions kubernetes-client 2>/dev/null |
    awk '/^Source:/ && $3 ~ /^\(/ { v = substr($3, 2, length($3) - 2) } /^Version:/ { if (v == "") v = $2 }
         END { print v }'
}
# Bump when what goes into a build changes (patches, binaries).
recipe=2
complete() { [ "$(cat "$1/.complete" 2>/dev/null)" = "$(basename "$1") recipe $recipe" ]; }
# The newest complete build in the cache (for start, and for build when apt knows no version).
cached_build() {
  local d best=""
  for d in "$cache"/*/; do
    complete "$d" || continue
    best=${d%/}
  done
  [ -n "$best" ] && echo "$best"
}

# --- build ---------------------------------------------------------------------------------------------------------
# Adds deb-src stanzas beside the deb ones of the Debian archive (same URIs, suites and keys), only if apt knows no
# source for kubernetes yet.
need_deb_src() {
  apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes$' && return 0
  local f src=/etc/apt/sources.list.d/dind-deb-src.sources line codename
  # Only the distribution's own archive (suite <codename>*, component main): other repositories may have no sources.
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  : >"$src.new"
  for f in /etc/apt/sources.list.d/*.sources; do
    if [ "$f" = "$src" ] || [ ! -r "$f" ]; then continue; fi
    # deb822: every enabled stanza of type deb, as deb-src.
    awk -v c="$codename" 'BEGIN { RS = ""; ORS = "\n\n" }
         /(^|\n)Types:[^\n]*(^|[ \t])deb([ \t]|\n|$)/ && !/(^|\n)Enabled:[ \t]*no/ &&
         /(^|\n)Components:[^\n]*(^|[ \t])main([ \t]|\n|$)/ && $0 ~ ("(^|\n)Suites:[^\n]*[ \t]" c) {
           sub(/(^|\n)Types:[^\n]*/, "\nTypes: deb-src"); sub(/^\n/, ""); print }' "$f" >>"$src.new"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    while read -r line; do echo "deb-src${line#deb}"; done < <(grep -E "^deb[[:space:]].*[[:space:]]${codename}[^[:space:]]*[[:space:]].*main" "$f") >>"$src.new.list"
  done
  if [ -s "$src.new.list" ]; then
    mv "$src.new.list" /etc/apt/sources.list.d/dind-deb-src.list
  else
    rm -f "$src.new.list"
  fi
  if [ -s "$src.new" ]; then mv "$src.new" "$src"; else rm -f "$src.new"; fi
  say "added deb-src entries for the Debian archive (/etc/apt/sources.list.d/dind-deb-src.*); apt-get update"
  apt-get update >>"$apt_log" 2>&1 || die "apt-get update failed; see $apt_log"
  apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes$' ||
    die "apt knows no source package 'kubernetes' even with deb-src entries (see /etc/apt/sources.list.d/dind-deb-src.*)"
}

# make_pause SRC OUT.tar: the pause container (pause.c, static) as a docker-archive tar tagged $pause_image.
pause_image=registry.k8s.io/pause:3.6
make_pause() {
  local src=$1 out=$2 d
  d=$(mktemp -d /var/tmp/dind-pause.XXXXXX)
  mkdir -p "$d/root" "$d/img"
  gcc -Os -Wall -Werror -static -DVERSION=v3.6-debian -o "$d/root/pause" "$src" || { rm -rf "$d"; return 1; }
  strip "$d/root/pause"
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$d/root" -cf "$d/img/layer.tar" pause
  local diff config
  diff=sha256:$(sha256sum "$d/img/layer.tar" | cut -d' ' -f1)
  jq -cn --arg diff "$diff" '{architecture: "amd64", os: "linux", created: "1970-01-01T00:00:00Z",
      config: {Entrypoint: ["/pause"], WorkingDir: "/", User: "65535:65535"},
      rootfs: {type: "layers", diff_ids: [$diff]},
      history: [{created: "1970-01-01T00:00:00Z", created_by: "gcc -static build/pause/linux/pause.c"}]}' \
    >"$d/img/config.json"
  config=$(sha256sum "$d/img/config.json" | cut -d' ' -f1)
  mv "$d/img/config.json" "$d/img/$config.json"
  jq -cn --arg c "$config.json" --arg tag "$pause_image" '[{Config: $c, RepoTags: [$tag], Layers: ["layer.tar"]}]' \
    >"$d/img/manifest.json"
  tar --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$d/img" -cf "$out" manifest.json "$config.json" layer.tar
  rm -rf "$d"
}

cmd_build() {
  local t_all ver out t0 tmp src
  t_all=$(now_ms)
  need_packages "${run_packages[@]}" "${build_packages[@]}"
  ver=$(source_version)
  if [ -z "$ver" ]; then
    out=$(cached_build) && { say "build: cached in $out (apt knows no kubernetes version; not checked)"; return; }
    [ "$(id -u)" = 0 ] || die "building needs root"
    apt-get update >>"$apt_log" 2>&1 || die "apt-get update failed; see $apt_log"
    ver=$(source_version)
    [ -n "$ver" ] || die "apt knows no package kubernetes-client (Debian's kubernetes source); cannot build"
  fi
  out=$cache/$ver
  if complete "$out"; then
    say "build: kubernetes $ver is cached in $out"
    return
  fi
  [ "$(id -u)" = 0 ] || die "building kubernetes $ver needs root"
  mkdir -p "$cache" /run/lock
  exec 8>/run/lock/dind-cluster-build.lock
  flock 8
  if complete "$out"; then return; fi
  say "build: kubernetes $ver from Debian's source package into $out (about 8 min on 2 cores)"
  t0=$(now_ms)
  need_deb_src
  tmp=$(mktemp -d /var/tmp/dind-kube-build.XXXXXX)
  # shellcheck disable=SC2064
  trap "rm -rf --one-file-system '$tmp'" EXIT
  chown _apt "$tmp" 2>/dev/null || :
  (cd "$tmp" && apt-get source --download-only "kubernetes=$ver" >>"$apt_log" 2>&1) ||
    die "apt-get source --download-only kubernetes=$ver failed; see $apt_log"
  took "$t0" "build: downloading the source package"
  t0=$(now_ms)
  src=$tmp/src
  dpkg-source -x "$tmp"/kubernetes_*.dsc "$src" >>"$apt_log" 2>&1 || die "dpkg-source -x failed; see $apt_log"
  # The kubelet would write host sysctls (vm.overcommit_memory, kernel.panic, ...) on start; on a shared machine it
  # must only warn. --protect-kernel-defaults is no way out: it makes differing values an error.
  local cm=$src/pkg/kubelet/cm/container_manager_linux.go
  grep -q '^	b := KernelTunableModify$' "$cm" || die "kubelet source changed: no 'b := KernelTunableModify' in $cm"
  sed -i 's/^	b := KernelTunableModify$/	b := KernelTunableWarn/' "$cm"
  # The vendored reflect2 1.0.1 crashes under Go >= 1.18 (bookworm has 1.19): json-iterator's map encoding faults
  # ("unexpected fault address", mapiterinit), killing the API server at its first such response. 1.0.2 fixes it
  # and keeps the API; only the files are swapped (vendor/modules.txt keeps its line, go does not hash vendor/).
  local r2=/usr/share/gocode/src/github.com/modern-go/reflect2 v2=$src/vendor/github.com/modern-go/reflect2
  [ -f "$r2/go_above_118.go" ] || die "$r2 is not reflect2 >= 1.0.2 (golang-github-modern-go-reflect2-dev)"
  rm -f "$v2"/*.go "$v2"/*.s
  cp "$r2"/*.go "$r2"/*.s "$v2/"
  rm -f "$v2"/*_test.go
  took "$t0" "build: unpacking and patching"
  rm -rf "$out.new"
  mkdir -p "$out.new" "$cache/gocache"
  t0=$(now_ms)
  make_pause "$src/build/pause/linux/pause.c" "$out.new/pause.tar" || die "building the pause image failed"
  took "$t0" "build: pause image ($pause_image)"
  # As debian/rules: GOPATH in the tree, CGO off.
  # hack/lib/golang.sh sets GOCACHE=_output/local/go/cache; point that at the kept cache.
  mkdir -p "$src/.go/src/k8s.io" "$tmp/home" "$src/_output/local/go"
  ln -s "$cache/gocache" "$src/_output/local/go/cache"
  ln -s ../../.. "$src/.go/src/k8s.io/kubernetes"
  local what
  # kubectl too: Debian's kubernetes-client has the same reflect2 and may fault at random.
  for what in kube-apiserver kubelet kubectl; do
    t0=$(now_ms)
    (cd "$src" && env HOME="$tmp/home" GOPATH="$src/.go" GOCACHE="$cache/gocache" CGO_ENABLED=0 \
      PATH="/usr/lib/go/bin:$PATH" make WHAT="cmd/$what" >"$tmp/make-$what.log" 2>&1) || {
      tail -n 30 "$tmp/make-$what.log" >&2
      die "make WHAT=cmd/$what failed (above)"
    }
    install -m 0755 "$src/_output/bin/$what" "$out.new/$what"
    took "$t0" "build: $what"
  done
  echo "$ver recipe $recipe" >"$out.new/.complete"
  rm -rf "$out"
  mv "$out.new" "$out"
  rm -rf --one-file-system "$tmp"
  trap - EXIT
  took "$t_all" "build: kubernetes $ver -> $out"
}

# --- the cluster ---------------------------------------------------------------------------------------------------
# All on 127.0.0.1. Env: DIND_CLUSTER_PORT_BASE moves every port (default 26400: etcd 26479/26480, API servers
# 26443 and 26444, kubelet 26450, its healthz 26448).
port_base=${DIND_CLUSTER_PORT_BASE:-26400}
etcd_port=$((port_base + 79)) etcd_peer_port=$((port_base + 80))
api_port=$((port_base + 43)) api2_port=$((port_base + 44))
kubelet_port=$((port_base + 50)) kubelet_healthz_port=$((port_base + 48))
# The pods' bridge and subnet: private, clear of docker0 (172.17/16), the engine's networks (172.18+/16,
# 192.168/16) and the service range (virtual, never routed).
bridge=dindk0
pod_subnet=10.213.77.0/24
service_range=10.213.78.0/24
node=localhost

# The state dir's layout.
set_paths() {
  pki=$state/pki
  pids=$state/pids
  logs=$state/log
  kubeconfig=$state/kubeconfig
  ctrd_sock=$state/containerd/containerd.sock
}

# pid_alive NAME: the process recorded as NAME runs.
pid_alive() { local p; p=$(cat "$pids/$1.pid" 2>/dev/null) && [ -n "$p" ] && running "$p"; }
# launch NAME COMMAND...: a background process in a session of its own, logging to $logs/NAME.log.
launch() {
  local name=$1
  shift
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
  echo $! >"$pids/$name.pid"
}
# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s; on timeout shows the log of WHAT and fails.
wait_for() {
  local what=$1 n=$(($2 * 10)) i
  shift 2
  for ((i = 0; i < n; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    pid_alive "$what" || break
    sleep 0.1
  done
  say "$what did not come up (pid $(cat "$pids/$what.pid" 2>/dev/null)); last lines of $logs/$what.log:"
  tail -n 25 "$logs/$what.log" >&2 || :
  return 1
}
admin_curl() { curl -sf -m 3 --cacert "$pki/ca.crt" -H "Authorization: Bearer $(cat "$state/admin.token")" "$@"; }
node_ready() {
  admin_curl "https://127.0.0.1:$api_port/api/v1/nodes/$node" |
    jq -e '.status.conditions[] | select(.type == "Ready" and .status == "True")' >/dev/null
}
healthy() {
  [ -f "$state/started" ] && pid_alive etcd && pid_alive apiserver && pid_alive apiserver-noprivileged &&
    pid_alive containerd && pid_alive kubelet && node_ready &&
    admin_curl "https://127.0.0.1:$api2_port/readyz" >/dev/null
}

# --- certificates (EC P-256: fast to make) ---
# cert NAME SUBJECT [SAN]: $pki/NAME.{key,crt} signed by the cluster CA, client and server use.
cert() {
  local name=$1 subj=$2 san=${3:-}
  openssl ecparam -genkey -name prime256v1 -noout -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
    -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null || die "cannot sign $pki/$name.crt"
  rm -f "$pki/$name.csr" "$pki/$name.ext"
}
make_pki() {
  mkdir -p "$pki"
  chmod 0700 "$pki"
  openssl ecparam -genkey -name prime256v1 -noout -out "$pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=dind-cluster-ca" -days 30 -out "$pki/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null ||
    die "cannot make the cluster CA in $pki"
  local svc_ip=${service_range%.*}.1
  cert apiserver "/CN=kube-apiserver" "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:127.0.0.1,IP:$svc_ip"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert kubelet "/CN=$node" "DNS:$node,IP:127.0.0.1"
  cert node "/O=system:nodes/CN=system:node:$node"
  cert admin "/O=system:masters/CN=dind-cert-admin"
  openssl ecparam -genkey -name prime256v1 -noout -out "$pki/sa.key" 2>/dev/null
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  local admin limited
  admin=$(openssl rand -hex 24)
  limited=$(openssl rand -hex 24)
  echo "$admin" >"$state/admin.token"
  echo "$limited" >"$state/limited.token"
  chmod 0600 "$state/admin.token" "$state/limited.token"
  {
    echo "$admin,dind-admin,dind-admin,\"system:masters\""
    echo "$limited,limited,limited,\"dind:limited\""
  } >"$pki/tokens.csv"
}

write_kubeconfigs() {
  local admin limited
  admin=$(cat "$state/admin.token")
  limited=$(cat "$state/limited.token")
  cat >"$kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: dind
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$pki/ca.crt"}
- name: dind-noprivileged
  cluster: {server: "https://127.0.0.1:$api2_port", certificate-authority: "$pki/ca.crt"}
users:
- name: dind-admin
  user: {token: "$admin"}
- name: dind-cert
  user: {client-certificate: "$pki/admin.crt", client-key: "$pki/admin.key"}
- name: dind-limited
  user: {token: "$limited"}
contexts:
- name: dind-admin
  context: {cluster: dind, user: dind-admin}
- name: dind-cert
  context: {cluster: dind, user: dind-cert}
- name: dind-limited
  context: {cluster: dind, user: dind-limited, namespace: dind-test}
- name: dind-noprivileged
  context: {cluster: dind-noprivileged, user: dind-admin}
current-context: dind-admin
KC
  chmod 0600 "$kubeconfig"
  cat >"$state/node.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: dind
  cluster: {server: "https://127.0.0.1:$api_port", certificate-authority: "$pki/ca.crt"}
users:
- name: node
  user: {client-certificate: "$pki/node.crt", client-key: "$pki/node.key"}
contexts:
- name: node
  context: {cluster: dind, user: node}
current-context: node
KC
}

write_containerd_config() {
  local runtime=runc capbnd
  # Negative oom_score_adj and every capability of a privileged pod need CAP_SYS_RESOURCE; wrap runc where the
  # bounding set lacks it (bit 24), as scripts/engine.sh does for the machine's engine.
  capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  if (((16#$capbnd >> 24 & 1) == 0)); then runtime=$here/cluster/runc-oomfix; fi
  mkdir -p "$state/containerd/root" "$state/containerd/state" "$state/containerd/runc" "$state/cni/net.d" \
    "$state/cni/ipam"
  cat >"$state/containerd/config.toml" <<TOML
version = 2
root = "$state/containerd/root"
state = "$state/containerd/state"
oom_score = 0
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$ctrd_sock"
[ttrpc]
  address = "$state/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$state/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  netns_mounts_under_state_dir = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$runtime"
        Root = "$state/containerd/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
    max_conf_num = 1
TOML
  # isGateway: the bridge gets the subnet's first address, so the host (and kubelet probes) reach the pods;
  # no ipMasq: no iptables rules, and pods reach nothing beyond this machine.
  cat >"$state/cni/net.d/10-dind.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "dind-cluster",
  "plugins": [
    {
      "type": "bridge", "bridge": "$bridge", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {"type": "host-local", "dataDir": "$state/cni/ipam", "ranges": [[{"subnet": "$pod_subnet"}]],
               "routes": [{"dst": "0.0.0.0/0"}]}
    },
    {"type": "loopback"}
  ]
}
JSON
}

write_kubelet_config() {
  mkdir -p "$state/kubelet"
  cat >"$state/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: $kubelet_port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $kubelet_healthz_port
tlsCertFile: $pki/kubelet.crt
tlsPrivateKeyFile: $pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
failSwapOn: false
# A shared test machine: never evict, never collect images.
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
enableControllerAttachDetach: false
makeIPTablesUtilChains: false
nodeStatusUpdateFrequency: 4s
syncFrequency: 10s
fileCheckFrequency: 20s
YAML
}

cluster_objects() {
  cat <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: dind-test}
---
# No controller-manager runs: the ServiceAccount admission plugin needs each namespace's "default" account to exist.
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: default}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: dind-test}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pod-reader, namespace: dind-test}
rules:
- apiGroups: [""]
  resources: [pods, pods/log]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: limited-pod-reader, namespace: dind-test}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pod-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: limited}
YAML
}

# import_images: the pause image, dind-offline:latest and busybox:latest (when the engine has them) into the private
# containerd's k8s.io namespace; each skipped when already there.
import_images() {
  local have img t0
  have=$(ctr -a "$ctrd_sock" -n k8s.io images ls -q 2>/dev/null || :)
  grep -qxF "$pause_image" <<<"$have" ||
    ctr -a "$ctrd_sock" -n k8s.io images import "$build_dir/pause.tar" >/dev/null ||
    die "importing $build_dir/pause.tar into the private containerd failed"
  for img in dind-offline:latest busybox:latest; do
    grep -qxF "docker.io/library/$img" <<<"$have" && continue
    docker image inspect "$img" >/dev/null 2>&1 || { say "the engine has no image $img; not imported"; continue; }
    t0=$(now_ms)
    docker save "$img" | ctr -a "$ctrd_sock" -n k8s.io images import - >/dev/null ||
      die "importing $img (docker save | ctr images import) failed"
    took "$t0" "start: importing $img"
  done
}

cmd_start() {
  local t_all t0 t0b kubectl
  t_all=$(now_ms)
  set_paths
  if healthy; then
    say "the cluster in $state runs"
    echo "export KUBECONFIG=$kubeconfig"
    return
  fi
  [ "$(id -u)" = 0 ] || die "starting the cluster needs root"
  build_dir=$(cached_build) || die "no build in $cache (run: $0 build)"
  kubectl=$build_dir/kubectl
  need_packages "${run_packages[@]}"
  case "$(readlink -m "$state")/" in
    /var/lib/* | /var/log/* | /run/containerd/* | /var/run/containerd/*)
      die "--state $state: must not be under /var/lib, /var/log or /run/containerd (those are private to the cluster)" ;;
  esac
  if [ -e "$state" ]; then
    say "$state exists but the cluster there is not healthy; stopping what is left first"
    cmd_stop
  fi
  if ip -4 route show | grep -v " dev $bridge " | grep -q "^${pod_subnet%.*}\."; then
    die "the pods' subnet $pod_subnet is routed elsewhere already (ip route); cannot start"
  fi
  mkdir -p "$state" "$pids" "$logs"
  # A start that fails stops what it started; the logs are kept for a look.
  trap start_failed EXIT
  t0=$(now_ms)
  make_pki
  write_kubeconfigs
  write_containerd_config
  write_kubelet_config
  took "$t0" "start: certificates and configs"

  t0=$(now_ms)
  launch etcd etcd --name dind --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
    --initial-cluster "dind=http://127.0.0.1:$etcd_peer_port" \
    --quota-backend-bytes 268435456 --snapshot-count 10000
  # containerd and the kubelet share a mount namespace of their own: their mounts (overlays, shm, volumes, network
  # namespaces) are invisible to the machine and vanish with them; /run/containerd (where every containerd's shims
  # put their sockets) is a private tmpfs there, and what they write to /var/lib (CNI's cache) and /var/log (pod
  # logs) goes to the state dir.
  mkdir -p "$state/ns/lib.upper" "$state/ns/lib.work" "$state/ns/log.upper" "$state/ns/log.work"
  local ns_setup="mount --make-rprivate / &&
    { [ -d /run/containerd ] || mkdir -p /run/containerd; } && mount -t tmpfs -o mode=0711 dind-cluster /run/containerd &&
    mount -t overlay dind-cluster -o lowerdir=/var/lib,upperdir=$state/ns/lib.upper,workdir=$state/ns/lib.work /var/lib &&
    mount -t overlay dind-cluster -o lowerdir=/var/log,upperdir=$state/ns/log.upper,workdir=$state/ns/log.work /var/log"
  [ -d /run/containerd ] || touch "$state/created-run-containerd"
  launch containerd unshare --mount -- sh -c "$ns_setup && exec containerd --config '$state/containerd/config.toml'"
  wait_for etcd 20 curl -sf -m 1 "http://127.0.0.1:$etcd_port/health" || die "etcd did not start"
  took "$t0" "start: etcd"

  t0=$(now_ms)
  local api_args=(--etcd-servers "http://127.0.0.1:$etcd_port" --bind-address 127.0.0.1 --advertise-address 127.0.0.1
    --insecure-port 0 --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key"
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" --authorization-mode "Node,RBAC"
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key"
    --service-account-issuer https://kubernetes.default.svc --api-audiences https://kubernetes.default.svc
    --service-cluster-ip-range "$service_range" --kubelet-preferred-address-types Hostname
    --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" --kubelet-client-key "$pki/apiserver-kubelet-client.key"
    --kubelet-certificate-authority "$pki/ca.crt"
    --endpoint-reconciler-type none --profiling=false --enable-priority-and-fairness=false --event-ttl 10m)
  launch apiserver "$build_dir/kube-apiserver" "${api_args[@]}" --secure-port "$api_port" --allow-privileged=true
  # The second API server on the same etcd (same objects) refuses privileged pods.
  launch apiserver-noprivileged "$build_dir/kube-apiserver" "${api_args[@]}" --secure-port "$api2_port" \
    --allow-privileged=false
  wait_for containerd 20 ctr -a "$ctrd_sock" version || die "the private containerd did not start"
  t0b=$(now_ms)
  import_images
  took "$t0b" "start: images"
  wait_for apiserver 60 admin_curl "https://127.0.0.1:$api_port/readyz" || die "kube-apiserver did not start"
  took "$t0" "start: API server (and containerd, images)"

  t0=$(now_ms)
  launch kubelet nsenter --mount="/proc/$(cat "$pids/containerd.pid")/ns/mnt" -- \
    env AWS_EC2_METADATA_DISABLED=true "$build_dir/kubelet" --config "$state/kubelet.yaml" \
    --kubeconfig "$state/node.kubeconfig" --root-dir "$state/kubelet" --cert-dir "$pki" \
    --hostname-override "$node" --container-runtime remote --container-runtime-endpoint "unix://$ctrd_sock" \
    --image-service-endpoint "unix://$ctrd_sock" --runtime-request-timeout 5m \
    --pod-infra-container-image "$pause_image" --v 1
  KUBECONFIG=$kubeconfig "$kubectl" apply -f - >"$logs/objects.log" 2>&1 < <(cluster_objects) || {
    cat "$logs/objects.log" >&2
    die "creating the namespace and RBAC objects failed"
  }
  wait_for kubelet 60 node_ready || die "the node $node did not become Ready"
  wait_for apiserver-noprivileged 30 admin_curl "https://127.0.0.1:$api2_port/readyz" ||
    die "the second kube-apiserver (--allow-privileged=false) did not start"
  took "$t0" "start: kubelet (node $node Ready)"
  date +%s >"$state/started"
  trap - EXIT
  took "$t_all" "start: the cluster in $state"
  echo "export KUBECONFIG=$kubeconfig"
}

start_failed() {
  local keep
  keep=$(mktemp -d /tmp/dind-cluster-failed.XXXXXX)
  cp -r "$logs" "$keep/" 2>/dev/null || :
  say "start failed; stopping what it started (its logs are in $keep/log)"
  cmd_stop
}

cmd_stop() {
  set_paths
  [ -e "$state" ] || return 0
  local p t0 cg
  t0=$(now_ms)
  # Nothing here is kept (the state dir goes), so nothing needs a graceful end: the kubelet first (it would restart
  # what is killed), then every process of the pods (the kubelet's cgroups: pause, containers, and all a privileged
  # pod started, nested containers included, die with their pid namespace), containerd and its shims, the API
  # servers and etcd.
  stop_pid kubelet
  for p in $(pod_pids); do kill -KILL "$p" 2>/dev/null || :; done
  stop_pid containerd
  for p in $(shims); do kill -KILL "$p" 2>/dev/null || :; done
  stop_pid apiserver apiserver-noprivileged etcd
  # containerd's and the kubelet's mount namespace (overlays, shm, volumes, network namespaces) is gone with its
  # processes; anything mounted on the machine under the state dir goes too.
  awk -v s="$state/" 'index($2 "/", s) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || :
  done
  if ip link show "$bridge" >/dev/null 2>&1; then ip link delete "$bridge"; fi
  # The kubelet's cgroups (cgroupfs driver): /kubepods in every hierarchy, once empty.
  for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$cg" ] || continue
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || :
      [ -d "$cg" ] || break
      sleep 0.1
    done
    [ ! -d "$cg" ] || say "could not remove the cgroup $cg (processes left in it?)"
  done
  if [ -f "$state/created-run-containerd" ]; then rmdir /run/containerd/s /run/containerd 2>/dev/null || :; fi
  rm -rf --one-file-system "$state"
  took "$t0" "stop: the cluster in $state"
}
# pod_pids: every process in the kubelet's cgroups.
pod_pids() {
  local cg
  for cg in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods /sys/fs/cgroup/kubepods; do
    [ -d "$cg" ] || continue
    find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
    return 0
  done
}
# running PID: alive and not a zombie (the machine's init may reap late).
running() { local st; st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]; }
# stop_pid NAME...: KILL, and wait until they are gone (up to 5 s).
stop_pid() {
  local n p i left=() was=()
  for n in "$@"; do
    p=$(cat "$pids/$n.pid" 2>/dev/null) || continue
    kill -KILL "$p" 2>/dev/null && left+=("$p")
  done
  for i in $(seq 1 50); do
    [ "${#left[@]}" -gt 0 ] || return 0
    was=("${left[@]}")
    left=()
    for n in "${was[@]}"; do running "$n" && left+=("$n"); done
    sleep 0.05
  done
  say "processes ${left[*]} did not end"
}
# shims: pids of containerd shims of this cluster (their command line names the private containerd's socket).
shims() {
  local d
  for d in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF -- "-address $ctrd_sock " && echo "${d#/proc/}"
  done
}

cmd_env() {
  set_paths
  echo "KUBECONFIG=$kubeconfig"
  local b
  b=$(cached_build) && echo "KUBECTL=$b/kubectl"
  echo "DIND_CLUSTER_API=https://127.0.0.1:$api_port"
  echo "DIND_CLUSTER_API_NOPRIVILEGED=https://127.0.0.1:$api2_port"
  echo "DIND_CLUSTER_CA=$pki/ca.crt"
}

# --- main ----------------------------------------------------------------------------------------------------------
cmd=${1:-}
[ $# -eq 0 ] || shift
while [ $# -gt 0 ]; do
  case "$1" in
    --state) [ $# -ge 2 ] || die "--state needs a directory"; state=$2; shift 2 ;;
    --state=*) state=${1#--state=}; shift ;;
    *) die "unknown argument '$1' (usage: $0 build|start|stop|env [--state DIR])" ;;
  esac
done
case "$cmd" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  *) die "usage: $0 build|start|stop|env [--state DIR]" ;;
esac
