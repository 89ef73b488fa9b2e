#!/usr/bin/env bash
# test/memcheck.sh — pg_regress and the whole pgTAP suite once, as test/run runs them, with
# every PostgreSQL process — postmaster, backends and the oracode worker — under valgrind
# memcheck. Not part of test/run: it takes about fifteen minutes on two cores. As root, from anywhere:
#
#   ./test/memcheck.sh          # the suites' output, then memcheck's counts and a verdict line
#
# How: scripts/cluster.sh takes its programs from PG_BINDIR; here that is a directory of links
# to PostgreSQL's programs in which `postgres` runs the real one under valgrind and `pg_ctl`
# starts that `postgres` (-p). Backends and the worker are forks of the postmaster, so
# valgrind follows them without exec; each process writes its own log. JIT is off
# (-c jit=off), so valgrind sees only compiled code. The cluster and fake server are set up
# as in test/run (keep the two in step); test/run's later stages (fault scenarios, failover,
# package) bring their own clusters and are not run here.
#
# Checked: invalid reads and writes, invalid frees, overlapping copies, uses of uninitialised
# values, uninitialised bytes passed to system calls. Not checked: leaks (a backend frees its
# memory contexts wholesale, so leak reports would be noise). Debian's PostgreSQL is not built
# with USE_VALGRIND, so memory that palloc carves out of a block is not tracked chunk by chunk:
# an overrun inside a block goes unseen (fuzz/ covers the parsers with per-chunk red zones).
# test/memcheck.supp silences three known reports from PostgreSQL's own code.
#
# A report "involves oracode" when a frame of it (its stack or the origin of an uninitialised
# value) is in oracode's sources. Exit status: 0 if valgrind reports no unsuppressed error and
# both suites pass; 1 on any unsuppressed error; 2 if memory is clean but a test failed (under
# valgrind everything runs many times slower, which a timing-sensitive test may not survive).
# KEEP_MEMCHECK=1 keeps the logs (their directory is printed).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

./scripts/setup.sh memcheck || exit 1
make -s clean >/dev/null
if ! make -s >/dev/null || ! make -s install >/dev/null; then
  echo "memcheck: FAIL — build or install failed"; exit 1
fi

# --- the valgrind postgres --------------------------------------------------------------
real_bindir=$(pg_config --bindir)
work=$(mktemp -d /tmp/oracode-memcheck.XXXXXX)
chmod 755 "$work"
bindir=$work/bin
logs=$work/valgrind
mkdir -p "$bindir" "$logs"
chmod 1777 "$logs"                       # the cluster runs as the postgres user
cp test/memcheck.supp "$work/memcheck.supp"
chmod 644 "$work/memcheck.supp"
for prog in "$real_bindir"/*; do ln -s "$prog" "$bindir/"; done
rm -f "$bindir/postgres" "$bindir/pg_ctl"
cat > "$bindir/postgres" <<SH
#!/bin/sh
# postgres under valgrind memcheck (written by test/memcheck.sh)
exec valgrind --tool=memcheck --error-limit=no --num-callers=40 --track-origins=yes \\
  --leak-check=no --fullpath-after= --suppressions="$work/memcheck.supp" --gen-suppressions=all \\
  --log-file="$logs/%p.log" "$real_bindir/postgres" "\$@" -c jit=off
SH
cat > "$bindir/pg_ctl" <<SH
#!/bin/sh
# pg_ctl starting the valgrind postgres beside it (written by test/memcheck.sh)
exec "$real_bindir/pg_ctl" -p "$bindir/postgres" "\$@"
SH
chmod 755 "$bindir/postgres" "$bindir/pg_ctl"
export PG_BINDIR=$bindir

# shellcheck source=../scripts/cluster.sh
. scripts/cluster.sh
# shellcheck source=../scripts/fake.sh
. scripts/fake.sh
[ -n "${KEEP_MEMCHECK:-}" ] || on_exit "rm -rf '$work'"

# --- the suites, set up as test/run sets them up ----------------------------------------
started=$SECONDS
fake_install && fake_start || { echo "memcheck: FAIL — cannot start Seam's fake server"; exit 1; }
seed=$(fake_seed_lock '{"name":"Suite lock"}') || { echo "memcheck: FAIL — cannot seed the fake"; exit 1; }
FAKE_API_KEY=$(fake_json api_key <<<"$seed")
FAKE_WORKSPACE_ID=$(fake_json workspace_id <<<"$seed")
export FAKE_API_KEY FAKE_WORKSPACE_ID
tapdb=oracode_tap
cluster_start "oracode.database = '$tapdb'" "oracode.api_url = '$FAKE_URL'" \
  "oracode.api_key = '$FAKE_API_KEY'" "oracode.poll_interval = 1" "oracode.sync_interval = 0" \
  "oracode.retry_max_delay = 2" || { echo "memcheck: FAIL — cannot start PostgreSQL under valgrind"; exit 1; }
export ORACODE_TEST_SERVER_LOG="$CLUSTER_LOG" ORACODE_TEST_PGDATA="$PGDATA_DIR"

regress_out="$CLUSTER_DIR/regress"
mkdir -p "$regress_out"
"$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress" --inputdir="$top" --outputdir="$regress_out" \
  --bindir="$PG_BINDIR" --dbname=oracode_regress --load-extension=oracode \
  $(make -s -f Makefile print-regress 2>/dev/null) > "$regress_out/summary.txt" 2>&1
regress_rc=$?
cat "$regress_out/summary.txt"
[ $regress_rc -ne 0 ] && [ -f "$regress_out/regression.diffs" ] && cat "$regress_out/regression.diffs"

createdb "$tapdb" && psql -X -q -d "$tapdb" -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION oracode' \
  || { echo "memcheck: FAIL — cannot create $tapdb"; exit 1; }
tap_out="$CLUSTER_DIR/pg_prove.txt"
PGDATABASE=$tapdb pg_prove --ext .sql -r test/pgtap 2>&1 | tee "$tap_out"
tap_rc=${PIPESTATUS[0]}
tap_line=$(grep -E '^Files=' "$tap_out" | tail -1 | cut -d, -f1-2)
[ $tap_rc -ne 0 ] && { echo "----- server log (tail) -----"; tail -n 60 "$CLUSTER_LOG"; }

# a fast shutdown, so that every process exits by itself and valgrind writes its summary
as_cluster_user pg_ctl -D "$PGDATA_DIR" -m fast -w -t 300 stop >/dev/null
elapsed=$(( SECONDS - started ))

# --- the verdict ------------------------------------------------------------------------
# An error block starts with a line naming the kind of error and ends at the next "==pid=="
# line with nothing after it; frames name their source file (--fullpath-after=).
ORACODE_SRC="$top/src/" perl -e '
  my $src = $ENV{ORACODE_SRC};
  my ($files, $procs, $ours, $theirs, $occurrences, $suppressed) = (0) x 6;
  my (%kinds, @samples);
  for my $file (@ARGV) {
    open my $fh, "<", $file or next;
    $files++;
    my ($block, $in) = ("", 0);
    my $flush = sub {
      return unless $in;
      my ($kind) = $block =~ /^==\d+== (\S.*?)\s*$/m;
      $kind =~ s/ of size \d+//; $kind =~ s/\(s\)$//; $kind =~ s/\(0x.*//;
      $kinds{$kind}++;
      if (index($block, $src) >= 0 || $block =~ /oracode\.so/) {
        $ours++; push @samples, $block if @samples < 5;
      } else { $theirs++; }
      ($block, $in) = ("", 0);
    };
    while (my $line = <$fh>) {
      $procs++ if $line =~ /^==\d+== Memcheck, a memory error detector/;
      if ($line =~ /^==\d+== ERROR SUMMARY: (\d+) errors .*suppressed: (\d+) from/) {
        $occurrences += $1; $suppressed += $2;
      }
      if ($line =~ /^==\d+== (Invalid (read|write|free)|Mismatched free|Conditional jump|Use of uninitialised|Syscall param|Source and destination overlap|Argument .* fishy)/) {
        $flush->(); $in = 1;
      }
      if ($in) {
        if ($line =~ /^==\d+== ?$/) { $flush->(); next; }
        $block .= $line;
      }
    }
    $flush->();
  }
  printf "memcheck: %d processes ran under valgrind (%d logs)\n", $procs, $files;
  printf "memcheck: distinct error reports involving oracode: %d; other: %d\n", $ours, $theirs;
  printf "memcheck:   %4d x %s\n", $kinds{$_}, $_ for sort { $kinds{$b} <=> $kinds{$a} } keys %kinds;
  printf "memcheck: error occurrences counted by valgrind: %d; suppressed (test/memcheck.supp): %d\n",
         $occurrences, $suppressed;
  print "----- reports involving oracode (first 5) -----\n", join("\n", @samples) if @samples;
  exit($ours + $theirs > 0 ? 1 : 0);
' "$logs"/*.log
mem_rc=$?
[ -n "${KEEP_MEMCHECK:-}" ] && echo "memcheck: valgrind logs kept in $logs"

summary="pg_regress rc $regress_rc; pgTAP: ${tap_line:-?} (rc $tap_rc); ${elapsed} s under valgrind"
if [ $mem_rc -ne 0 ]; then
  echo "memcheck: FAIL — memory errors reported (above); $summary"
  exit 1
fi
if [ $regress_rc -ne 0 ] || [ $tap_rc -ne 0 ]; then
  # valgrind makes every process many times slower, so a test that samples timing can miss
  echo "memcheck: FAIL — no memory error, but a test failed under valgrind; $summary"
  exit 2
fi
echo "memcheck: PASS — no unsuppressed memory error; $summary"
exit 0
