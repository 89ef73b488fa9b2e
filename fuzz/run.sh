#!/usr/bin/env bash
# Run libFuzzer targets for a bounded time each and report executions per target.
#   fuzz/run.sh SECONDS TARGET...     (SECONDS 0: only run the seed corpus once)
# New inputs go to fuzz/work/<target>/ (not committed); a crash, a sanitizer
# report or a broken promise ("fuzz finding") leaves its input in
# fuzz/artifacts/<target>/ and makes the run fail. Exits non-zero on any finding.
set -uo pipefail
cd "$(dirname "$0")"

seconds=${1:?usage: run.sh SECONDS TARGET...}
shift
declare -A dict=([tod]=dict/tod.dict [slots]=dict/json.dict [seam_json]=dict/json.dict)
declare -A max_len=([tod]=1024 [slots]=8192 [seam_json]=8192)
passed=0 failed=0

for t in "$@"; do
  bin=build/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz: $bin is not built (make -C fuzz)"; failed=$((failed + 1)); continue; }
  mkdir -p "work/$t" "artifacts/$t" logs
  log=logs/$t.log
  args=(-print_final_stats=1 -timeout=10 -rss_limit_mb=2048 "-max_len=${max_len[$t]}"
        "-dict=${dict[$t]}" "-artifact_prefix=artifacts/$t/")
  if [ "$seconds" -gt 0 ]; then
    args+=("-max_total_time=$seconds" "work/$t" "corpus/$t")
  else
    args+=(-runs=0 "corpus/$t")
  fi
  "$bin" "${args[@]}" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  corpus=$(grep -oE 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  if [ $rc -eq 0 ]; then
    passed=$((passed + 1))
    printf 'fuzz_%s: %s executions in %s s (%s/s), coverage %s, corpus %s, no findings\n' \
      "$t" "${execs:-?}" "$seconds" "${rate:-?}" "${cov:-?}" "${corpus:-?}"
  else
    failed=$((failed + 1))
    printf 'fuzz_%s: FINDING after %s executions (exit %d); input in fuzz/artifacts/%s/\n' \
      "$t" "${execs:-?}" "$rc" "$t"
    grep -E 'fuzz finding|ERROR: AddressSanitizer|runtime error|ERROR: libFuzzer|SUMMARY' "$log" | head -5
    echo "----- last lines of fuzz/$log -----"
    tail -n 30 "$log"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
