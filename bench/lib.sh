# shellcheck shell=bash
# Helpers shared by the benchmarks under bench/ (issue.sh, poll.sh, trigger.sh), sourced after
# `set -euo pipefail`. They use scripts/cluster.sh (a throwaway PostgreSQL 15 cluster as the
# postgres user, 127.0.0.1 only) and scripts/fake.sh (Seam's fake on 127.0.0.1); both stop when
# the calling shell exits (on_exit).
#
#   bench_prepare            build + install oracode (unless BENCH_NO_BUILD=1), install the fake
#                            and bench/node's pinned packages (npm ci), start nothing; remember
#                            the installed library's checksum
#   bench_library            one line for the report: which oracode.so ran, and whether another
#                            install replaced it during the run (the machine may be shared)
#   bench_fresh_fake         stop the fake if one runs, start a new one, seed BENCH_DEVICES locks
#                            with fixed ids and the key BENCH_API_KEY; sets FAKE_URL
#   bench_point_worker       give the cluster's worker FAKE_URL and BENCH_API_KEY (reload)
#   bench_hold_worker        take the key away from the worker (reload): it sends nothing
#   bench_sql DB SQL...      psql -X -q -At with ON_ERROR_STOP, one -c per SQL argument
#   bench_wait DB SQL SECS [EVERY]  poll until SQL returns t (every EVERY s, default 0.5); fail after SECS
#   worker_pid DB            the oracode worker's pid
#   proc_mem PID             "VmRSS VmHWM RssAnon" of a process, in kB
#   proc_cpu_ticks PID       utime + stime of a process, in clock ticks
#   cluster_cpu_ticks        CPU (user + system, clock ticks) used so far by the cluster: every
#                            live server process plus the exited ones the postmaster reaped
#   bench_load               the 1/5/15-minute load averages (other work on the machine skews numbers)
#   median                   median of the numbers on stdin, one per line
#   fmt NUMBER [DIGITS]      the number rounded (default 0 digits)

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
BENCH_NODE_DIR="$BENCH_DIR/node"
BENCH_DEVICES=${BENCH_DEVICES:-200}
# a fixed key (the fake accepts any seam_* token), so every fresh fake takes the same one
BENCH_API_KEY=${BENCH_API_KEY:-seam_bench1_0123456789abcdef01234567}

# shellcheck source=scripts/cluster.sh
. "$REPO/scripts/cluster.sh"
# shellcheck source=scripts/fake.sh
. "$REPO/scripts/fake.sh"

bench_die() { echo "$(basename "$0"): $*" >&2; exit 2; }
bench_say() { echo "# $*" >&2; }

# True when bench/node/node_modules holds what package-lock.json pins.
_bench_node_installed() {
  (cd "$BENCH_NODE_DIR" && node -e '
    const lock = require("./package-lock.json").packages;
    for (const name of ["seam", "autocannon"]) {
      const have = require("./node_modules/" + name + "/package.json").version;
      if (have !== lock["node_modules/" + name].version) process.exit(1);
    }' 2>/dev/null)
}

# Build and install the extension, install the fake and the benchmark's npm packages.
bench_prepare() {
  if [ "${BENCH_NO_BUILD:-}" != 1 ]; then
    [ "$(id -u)" -eq 0 ] || bench_die "building and installing the extension needs root (or set BENCH_NO_BUILD=1)"
    bench_say "building and installing oracode"
    (cd "$REPO" && make -s && make -s install) >/dev/null
  fi
  BENCH_SO="$(pg_config --pkglibdir)/oracode.so"
  BENCH_SO_SUM=$(md5sum "$BENCH_SO" | cut -c1-12)
  BENCH_SO_REV=$(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo unknown)
  fake_install >/dev/null
  if ! _bench_node_installed; then
    bench_say "installing the pinned Seam SDK and autocannon into bench/node/node_modules (npm ci)"
    # the SDK package also pins Seam's CLI, whose peer and optional packages the benchmark never loads
    (cd "$BENCH_NODE_DIR" && npm ci --omit=peer --omit=optional --no-audit --no-fund --loglevel=error >&2)
  fi
}

# Which library ran; warn when another install replaced it while the benchmark ran.
bench_library() {
  local now
  now=$(md5sum "$BENCH_SO" | cut -c1-12)
  if [ "$now" = "$BENCH_SO_SUM" ]; then
    echo "# oracode.so md5 $BENCH_SO_SUM (work tree $BENCH_SO_REV when installed), unchanged during the run"
  else
    echo "# WARNING: oracode.so was replaced during the run ($BENCH_SO_SUM -> $now) by another install; numbers may mix builds"
  fi
}

# A new fake (so every contender starts from the same store size), seeded with the bench locks.
bench_fresh_fake() {
  fake_stop
  # fake_start may race its own READY file once; it retries, so its stderr is noise here
  fake_start 2>/dev/null || fake_start
  node "$BENCH_NODE_DIR/seed.mjs" "$FAKE_URL" "$BENCH_DEVICES" "$BENCH_API_KEY" >"$BENCH_TMP/seed.json"
}

# Point the cluster's worker at the current fake with the bench key.
bench_point_worker() {
  cluster_conf "oracode.api_url = '$FAKE_URL'" "oracode.api_key = '$BENCH_API_KEY'"
}

# Take the key away: the worker idles (it sends and polls nothing without one).
bench_hold_worker() {
  cluster_conf "oracode.api_key = ''"
}

# bench_sql DB SQL...: run each SQL in one psql session; prints unaligned tuples.
bench_sql() {
  local db=$1 args=() s
  shift
  for s in "$@"; do args+=(-c "$s"); done
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "${args[@]}"
}

# bench_wait DB SQL SECS [EVERY]: wait until SQL returns true. Timings come from timestamps the
# server records, not from this loop, so it need not poll often (each poll costs the server CPU).
bench_wait() {
  local db=$1 sql=$2 secs=$3 every=${4:-0.5} deadline
  deadline=$(( SECONDS + secs ))
  until [ "$(bench_sql "$db" "$sql")" = t ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "timed out after ${secs}s waiting for: $sql" >&2; return 1; }
    sleep "$every"
  done
}

# The oracode worker's pid (connected to DB).
worker_pid() {
  bench_sql "$1" "SELECT pid FROM pg_stat_activity WHERE backend_type = 'oracode worker'"
}

# "VmRSS VmHWM RssAnon" of PID in kB.
proc_mem() {
  awk '/^VmRSS:/ {r=$2} /^VmHWM:/ {h=$2} /^RssAnon:/ {a=$2} END {print r, h, a}' "/proc/$1/status"
}

# utime + stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat; the name may hold spaces).
proc_cpu_ticks() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

# CPU ticks of the running cluster: the postmaster's children now alive, plus cutime/cstime of
# the postmaster (children that exited, e.g. the backend of a finished pgbench connection).
cluster_cpu_ticks() {
  local pm
  pm=$(head -n 1 "$PGDATA_DIR/postmaster.pid")
  {
    sed 's/^.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}'
    for p in $(ps -o pid= --ppid "$pm"); do
      [ -r "/proc/$p/stat" ] && sed 's/^.*) //' "/proc/$p/stat" | awk '{print $12 + $13}'
    done
  } 2>/dev/null | awk '{s += $1} END {print s}'
}

# The load averages, to print next to the numbers.
bench_load() { cut -d' ' -f1-3 /proc/loadavg; }
BENCH_LOAD_START=$(bench_load)

# Median of the numbers on stdin.
median() {
  sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "nan"; exit} if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}

# fmt NUMBER [DIGITS]: rounded for the report.
fmt() { LC_ALL=C printf "%.${2:-0}f" "$1"; }

# Reading $BENCH_TMP/results, one line per contender and run ("NAME RUN VALUE ..."):
# col NAME FIELD: that field of NAME's lines; per_run NAME RUN: NAME's value in run RUN.
col() { awk -v w="$1" -v f="$2" '$1 == w {print $f}' "$BENCH_TMP/results"; }
per_run() { awk -v w="$1" -v r="$2" '$1 == w && $2 == r {print $3}' "$BENCH_TMP/results"; }
# list [DIGITS]: the numbers on stdin, rounded, as "a, b, c".
list() { while read -r x; do fmt "$x" "${1:-0}"; echo; done | paste -sd, - | sed 's/,/, /g'; }

# A scratch directory for the run, removed on exit.
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/oracode-bench.XXXXXX")
chmod 755 "$BENCH_TMP"
on_exit "rm -rf '$BENCH_TMP'"
