# shellcheck shell=bash
# The example PMS listener's npm package (scripts/listen-pins: pg, pinned in its package.json
# and package-lock.json), sourced by test/events/notify.t and bench/issue.sh.
#
#   listen_install   npm ci in scripts/listen-pins unless the pinned pg is installed there
#   LISTEN_PINS_DIR  that directory

LISTEN_PINS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/listen-pins" && pwd)

# True when node_modules holds exactly the pg version that package.json pins.
_listen_installed() {
  node -e '
    const dir = process.argv[1];
    const want = require(dir + "/package.json").dependencies.pg;
    const have = require(dir + "/node_modules/pg/package.json").version;
    process.exit(want === have ? 0 : 1);' "$LISTEN_PINS_DIR" 2>/dev/null
}

# Install the pinned pg from package-lock.json, unless it is already there.
# Serialised with flock on the directory, so parallel runs do not run npm ci together.
listen_install() {
  _listen_installed && return 0
  (
    if command -v flock >/dev/null; then exec 9<"$LISTEN_PINS_DIR" && flock 9; fi
    _listen_installed && exit 0
    cd "$LISTEN_PINS_DIR" && npm ci --omit=optional --no-audit --no-fund --loglevel=error >&2
  ) || { echo "listen_install: npm ci failed in $LISTEN_PINS_DIR" >&2; return 1; }
}
