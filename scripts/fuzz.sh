#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang-14, ASan + UBSan) into build/fuzz and runs each one from its seed
# corpus (fuzz/corpus/<target>, never written to). Prints per target the executions done and "no finding"; exits
# non-zero on a finding and names the file libFuzzer kept (build/fuzz/findings/).
#
#   scripts/fuzz.sh                 # the CI run: a fixed number of runs per target (~1-2 min in all on 2 cores)
#   scripts/fuzz.sh --time 600      # each target for 600 s (the long run)
#   scripts/fuzz.sh --runs 1000000  # each target for that many executions
#   scripts/fuzz.sh --target fuzz_http --time 60 --keep-corpus
#
# Options: --runs N | --time S, --target NAME (repeatable), --no-build, --keep-corpus (grow build/fuzz/corpus/<t>
# across runs instead of starting from the seeds each time), --jobs N (build jobs, default 2).
# A finding is replayed with: build/fuzz/fuzz/<target> <file>; once fixed, copy the file into fuzz/corpus/<target>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DIND_FUZZ_BUILD_DIR:-$ROOT/build/fuzz}"
ALL_TARGETS=(fuzz_http fuzz_demux fuzz_jsonlines fuzz_path_stat fuzz_endpoint fuzz_context)
DEFAULT_RUNS=40000
RUNS=""
TIME=""
TARGETS=()
BUILD_IT=1
KEEP=0
JOBS=2

while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --time) TIME="$2"; shift 2 ;;
    --target) TARGETS+=("$2"); shift 2 ;;
    --no-build) BUILD_IT=0; shift ;;
    --keep-corpus) KEEP=1; shift ;;
    --jobs) JOBS="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=("${ALL_TARGETS[@]}")
if [[ -n "$RUNS" && -n "$TIME" ]]; then echo "fuzz.sh: give --runs or --time, not both" >&2; exit 2; fi
[[ -n "$RUNS" || -n "$TIME" ]] || RUNS=$DEFAULT_RUNS

if [[ $BUILD_IT == 1 ]]; then
  command -v clang++-14 >/dev/null || { echo "fuzz.sh: clang++-14 is missing (scripts/provision.sh installs it)" >&2; exit 2; }
  if [[ ! -f "$BUILD/build.ninja" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++-14 \
      -DDIND_BUILD_FUZZ=ON -DDIND_BUILD_TESTS=OFF -DDIND_BUILD_EXAMPLES=OFF -DDIND_BUILD_BENCH=OFF >/dev/null
  fi
  echo "fuzz: building ${TARGETS[*]} in $BUILD"
  cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}" >"$BUILD/fuzz-build.log" 2>&1 ||
    { tail -40 "$BUILD/fuzz-build.log" >&2; echo "fuzz: build failed (log: $BUILD/fuzz-build.log)" >&2; exit 2; }
fi

FINDINGS="$BUILD/findings"
LOGS="$BUILD/logs"
SCRATCH="$BUILD/tmp"
mkdir -p "$FINDINGS" "$LOGS"
rm -rf "$SCRATCH" && mkdir -p "$SCRATCH"

limit_args=(-runs="${RUNS:-0}")
what="$RUNS runs"
if [[ -n "$TIME" ]]; then
  limit_args=(-max_total_time="$TIME")
  what="${TIME} s"
fi
echo "fuzz: ${#TARGETS[@]} target(s), $what each"

passed=0
failed=0
for t in "${TARGETS[@]}"; do
  name="${t#fuzz_}"
  bin="$BUILD/fuzz/$t"
  seeds="$ROOT/fuzz/corpus/$name"
  [[ -x "$bin" ]] || { echo "fuzz: $bin is missing (build first)" >&2; exit 2; }
  [[ -d "$seeds" ]] || { echo "fuzz: no seed corpus $seeds" >&2; exit 2; }
  # libFuzzer adds what it finds to the first directory: a scratch one, so the repo's corpus stays as committed.
  work="$BUILD/corpus/$name"
  [[ $KEEP == 1 ]] || rm -rf "$work"
  mkdir -p "$work"
  log="$LOGS/$t.log"
  before=$(ls -1 "$FINDINGS" | grep -c "^$t-" || true)
  start=$(date +%s)
  rc=0
  # setsid: no controlling terminal, so nothing can stop on a terminal prompt (OpenSSL asks for a PEM pass phrase
  # on /dev/tty); -timeout turns a hang into a finding.
  TMPDIR="$SCRATCH" setsid -w "$bin" "${limit_args[@]}" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$FINDINGS/$t-" "$work" "$seeds" </dev/null >"$log" 2>&1 || rc=$?
  secs=$(( $(date +%s) - start ))
  execs=$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  after=$(ls -1 "$FINDINGS" | grep -c "^$t-" || true)
  if [[ $rc == 0 && "$after" == "$before" ]]; then
    printf 'fuzz: %-15s %9s executions in %4d s, corpus %4d inputs: no finding\n' "$t" "${execs:-?}" "$secs" \
      "$(ls -1 "$work" | wc -l)"
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    file=$(ls -1t "$FINDINGS"/"$t"-* 2>/dev/null | head -1 || true)
    echo "fuzz: $t FINDING after ${execs:-?} executions (exit $rc): ${file:-no file kept} (log: $log)"
    grep -a -E 'FUZZ INVARIANT BROKEN|ERROR: |runtime error|SUMMARY' "$log" | head -5 | sed 's/^/fuzz:   /'
    [[ -n "$file" ]] && echo "fuzz:   replay: $bin $file"
  fi
done
rm -rf "$SCRATCH"
echo "fuzz: $passed passed, $failed failed"
[[ $failed == 0 ]]
