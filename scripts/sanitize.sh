#!/usr/bin/env bash
# The C++ core and its GoogleTest tests under the sanitizers (CMakePresets.json), against the real engine:
#   asan  AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer, every GoogleTest test   -> build/asan
#   tsan  ThreadSanitizer, the pool / cross-thread close / concurrent-client tests                 -> build/tsan
# Configures, builds (-j2, ccache when installed) and runs `ctest --preset <p>` for each; prints one line per preset
# and exits non-zero if any build, test or sanitizer report failed. The sanitizer options that turn every report
# into a failure (halt_on_error, detect_leaks=1, ...) live in the test presets, so `ctest --preset asan` alone is
# just as strict.
#
#   scripts/sanitize.sh            # both presets
#   scripts/sanitize.sh tsan       # one of them
#   scripts/sanitize.sh asan -R Client   # extra arguments go to ctest (after the preset names)
set -uo pipefail
cd "$(dirname "$0")/.."

presets=()
while [[ $# -gt 0 && ($1 == asan || $1 == tsan) ]]; do
  presets+=("$1")
  shift
done
[[ ${#presets[@]} -gt 0 ]] || presets=(asan tsan)
if [[ $# -gt 0 && ($1 == -h || $1 == --help) ]]; then
  sed -n '2,13p' "$0"
  exit 0
fi

sock=/var/run/docker.sock
if [[ "$(curl -s -m 5 --unix-socket "$sock" http://docker/_ping 2>/dev/null)" != OK ]]; then
  echo "sanitize: no Docker engine answers on $sock; the tests need it (run scripts/engine.sh)" >&2
  exit 2
fi

fmt() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
status=0
summaries=()
for p in "${presets[@]}"; do
  dir=build/$p
  mkdir -p "$dir"
  log=$dir/sanitize.log
  : >"$log"
  t0=$SECONDS
  echo "sanitize: $p: configure and build -> $dir (log: $log)"
  if ! { cmake --preset "$p" && cmake --build --preset "$p"; } >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    summaries+=("sanitize: $p: BUILD FAILED after $(fmt $((SECONDS - t0))) (log: $log)")
    status=1
    continue
  fi
  t1=$SECONDS
  echo "sanitize: $p: ctest --preset $p${*:+ $*}"
  tlog=$dir/sanitize-ctest.log
  ctest --preset "$p" "$@" >"$tlog" 2>&1
  rc=$?
  t2=$SECONDS
  # The passing tests' lines are noise in CI; failures come with their output (outputOnFailure in the preset).
  grep -Ev '^ *Start +[0-9]+: |^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed +[0-9.]+ sec$' "$tlog" | sed '/^$/N;/^\n$/D'
  counts=$(grep -Eo '[0-9]+% tests passed(, [0-9]+ tests? failed)? out of [0-9]+' "$tlog" | tail -n 1)
  reports=$(grep -Ec 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$tlog")
  timing="build $(fmt $((t1 - t0))), tests $(fmt $((t2 - t1)))"
  if [[ $rc -eq 0 ]]; then
    summaries+=("sanitize: $p: ok: ${counts:-no test summary}, no sanitizer report ($timing)")
  else
    status=1
    summaries+=("sanitize: $p: FAILED: ${counts:-ctest exit $rc}, $reports sanitizer report(s) in failed tests ($timing; log: $tlog)")
  fi
done
printf '%s\n' "${summaries[@]}"
exit $status
