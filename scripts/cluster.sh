# shellcheck shell=bash
# Throwaway PostgreSQL 15 cluster helpers, sourced by test/run, scripts/demo and bench/*.
# The cluster runs as an unprivileged user (initdb refuses root), listens on
# 127.0.0.1 only, on a free port, and is stopped when the calling shell exits.

# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # on_exit

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
export PATH="$PG_BINDIR:$PATH"
CLUSTER_USER=${CLUSTER_USER:-postgres}

# Print a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 200); do
    # below Linux's ephemeral range (32768+), so no outgoing connection holds it
    p=$(( 20000 + RANDOM % 12000 ))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

# Run a command as the cluster user (or directly if we are not root).
as_cluster_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$CLUSTER_USER" -- "$@"; else "$@"; fi
}

# cluster_start [extra postgresql.conf lines...]
# Sets PGDATA_DIR, PGHOST, PGPORT, PGUSER and registers cleanup on exit.
cluster_start() {
  CLUSTER_DIR=$(mktemp -d /tmp/oracode-pg.XXXXXX)
  chmod 755 "$CLUSTER_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$CLUSTER_USER" "$CLUSTER_DIR"
  PGDATA_DIR="$CLUSTER_DIR/data"
  PGPORT=$(free_port)
  as_cluster_user initdb -D "$PGDATA_DIR" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1 \
    || { cat "$CLUSTER_DIR/initdb.log" >&2; return 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $PGPORT"
    echo "unix_socket_directories = '$CLUSTER_DIR'"
    echo "shared_preload_libraries = 'oracode'"
    echo "fsync = off"
    echo "logging_collector = off"
    echo "log_line_prefix = '%m [%p] %b '"
    for line in "$@"; do echo "$line"; done
  } >> "$PGDATA_DIR/postgresql.conf"
  export PGHOST=127.0.0.1 PGPORT PGUSER=postgres
  CLUSTER_LOG="$CLUSTER_DIR/server.log"
  on_exit cluster_stop
  as_cluster_user pg_ctl -D "$PGDATA_DIR" -l "$CLUSTER_LOG" -w -t 60 start >/dev/null \
    || { cat "$CLUSTER_LOG" >&2; return 1; }
}

# Append settings to the running cluster's configuration and reload it.
cluster_conf() {
  local line
  for line in "$@"; do echo "$line" | as_cluster_user tee -a "$PGDATA_DIR/postgresql.conf" >/dev/null; done
  as_cluster_user pg_ctl -D "$PGDATA_DIR" reload >/dev/null
}

cluster_restart() {
  as_cluster_user pg_ctl -D "$PGDATA_DIR" -l "$CLUSTER_LOG" -w -t 60 -m fast restart >/dev/null
}

cluster_stop() {
  if [ -n "${PGDATA_DIR:-}" ] && [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    as_cluster_user pg_ctl -D "$PGDATA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "${CLUSTER_DIR:-}" ] && [ -z "${KEEP_CLUSTER:-}" ]; then rm -rf "$CLUSTER_DIR"; fi
}
