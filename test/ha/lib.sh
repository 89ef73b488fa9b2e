# shellcheck shell=bash
# Several throwaway clusters at once for the HA tests (scripts/cluster.sh
# handles one). Every node runs as the cluster user, listens on 127.0.0.1
# only, on a free port, with its socket in its own directory; all of them
# stop when the test's shell exits, and a watchdog stops them too if that
# shell is killed without running its exit handlers.
#
#   ha_init                        make HA_DIR, arm cleanup and the watchdog
#   node_init NAME [conf lines]    initdb a primary (oracode preloaded)
#   node_standby NAME FROM [conf]  pg_basebackup -R a streaming standby of FROM
#   node_start NAME / node_stop NAME [mode] / node_promote NAME
#   nq NAME SQL                    psql -At on NAME's database $HA_DB, one value per line
#   node_caught_up STANDBY PRIMARY true when STANDBY replayed all of PRIMARY's WAL

# shellcheck source=../../scripts/cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/cluster.sh"   # free_port, as_cluster_user, on_exit

HA_DB=${HA_DB:-hadb}
declare -A NODE_PORT=()

# Make the working directory and arrange for everything to stop with us.
ha_init() {
  HA_DIR=$(mktemp -d /tmp/oracode-ha.XXXXXX)
  chmod 755 "$HA_DIR"
  [ "$(id -u)" -eq 0 ] && chown "$CLUSTER_USER" "$HA_DIR"
  on_exit ha_cleanup
  # the watchdog: if our shell dies without its EXIT trap, stop the nodes anyway
  local parent=$$
  ( trap '' HUP INT; while kill -0 "$parent" 2>/dev/null; do sleep 1; done; ha_cleanup ) >/dev/null 2>&1 &
  HA_WATCHDOG=$!
}

# Commands ha_cleanup runs first (e.g. stopping pg_autoctl, which would restart its nodes).
HA_STOP_HOOKS=()

# Stop every node (immediately: they are throwaway) and remove HA_DIR.
ha_cleanup() {
  local d h
  [ -n "${HA_DIR:-}" ] || return 0
  for h in "${HA_STOP_HOOKS[@]}"; do eval "$h" >/dev/null 2>&1; done
  for d in "$HA_DIR"/*/data; do
    [ -f "$d/postmaster.pid" ] && as_cluster_user pg_ctl -D "$d" -m immediate -w stop >/dev/null 2>&1
  done
  [ -n "${HA_WATCHDOG:-}" ] && [ "$BASHPID" != "$HA_WATCHDOG" ] && kill "$HA_WATCHDOG" 2>/dev/null
  [ -z "${KEEP_CLUSTER:-}" ] && rm -rf "$HA_DIR"
  return 0
}

# The settings every node gets (after initdb or pg_basebackup, which copies the primary's).
_node_local_conf() {
  local name=$1
  echo "listen_addresses = '127.0.0.1'"
  echo "port = ${NODE_PORT[$name]}"
  echo "unix_socket_directories = '$HA_DIR/$name'"
  echo "logging_collector = off"
  echo "log_line_prefix = '%m [%p] %b '"
}

# node_init NAME [extra postgresql.conf lines...]: a new primary with oracode preloaded.
node_init() {
  local name=$1 line; shift
  NODE_PORT[$name]=$(free_port) || return 1
  as_cluster_user mkdir -p "$HA_DIR/$name"
  as_cluster_user initdb -D "$HA_DIR/$name/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$HA_DIR/$name/initdb.log" 2>&1 || { cat "$HA_DIR/$name/initdb.log" >&2; return 1; }
  {
    _node_local_conf "$name"
    echo "shared_preload_libraries = 'oracode'"
    echo "fsync = off"
    echo "wal_level = replica"
    echo "hot_standby = on"
    for line in "$@"; do echo "$line"; done
  } | as_cluster_user tee -a "$HA_DIR/$name/data/postgresql.conf" >/dev/null
}

# node_standby NAME FROM [extra lines...]: a streaming standby of FROM (pg_basebackup -R).
node_standby() {
  local name=$1 from=$2 line; shift 2
  NODE_PORT[$name]=$(free_port) || return 1
  as_cluster_user mkdir -p "$HA_DIR/$name"
  as_cluster_user pg_basebackup -h 127.0.0.1 -p "${NODE_PORT[$from]}" -U postgres -D "$HA_DIR/$name/data" \
    -R -X stream -c fast >"$HA_DIR/$name/basebackup.log" 2>&1 || { cat "$HA_DIR/$name/basebackup.log" >&2; return 1; }
  {
    _node_local_conf "$name"
    for line in "$@"; do echo "$line"; done
  } | as_cluster_user tee -a "$HA_DIR/$name/data/postgresql.conf" >/dev/null
}

# Start NAME and wait until it accepts connections.
node_start() {
  as_cluster_user pg_ctl -D "$HA_DIR/$1/data" -l "$HA_DIR/$1/server.log" -w -t 60 start >/dev/null \
    || { tail -n 30 "$HA_DIR/$1/server.log" >&2; return 1; }
}

# node_stop NAME [mode]: stop NAME (default: immediate, as a crash would).
node_stop() {
  as_cluster_user pg_ctl -D "$HA_DIR/$1/data" -m "${2:-immediate}" -w stop >/dev/null 2>&1
}

# Promote a standby and wait until it runs as a primary.
node_promote() {
  as_cluster_user pg_ctl -D "$HA_DIR/$1/data" -w -t 60 promote >/dev/null
}

# nq NAME SQL: run SQL on NAME's $HA_DB and print the result unaligned.
nq() {
  psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${NODE_PORT[$1]}" -U postgres -d "${NQ_DB:-$HA_DB}" -c "$2"
}

# True when STANDBY has replayed everything PRIMARY has written so far.
node_caught_up() {
  local lsn
  lsn=$(nq "$2" "SELECT pg_current_wal_lsn()") || return 1
  [ "$(nq "$1" "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ]
}
