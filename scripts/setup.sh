#!/usr/bin/env bash
# Install what oracode needs to build, test and run its demo on Debian 12
# (plus the optional groups named as arguments, below).
# Skips whatever is already present; safe to run again.
set -euo pipefail

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in postgresql-15 postgresql-server-dev-15 postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl \
         libcurl4-openssl-dev libcjson-dev libipc-run-perl make gcc nodejs npm ca-certificates \
         dpkg-dev debhelper fakeroot postgresql-server-dev-all postgresql-15-auto-failover; do
  have_pkg "$p" || need+=("$p")
done
# (dpkg-dev, debhelper, postgresql-server-dev-all: test/deb builds the .deb with
#  pg_buildext; postgresql-15-auto-failover: test/ha's pg_auto_failover failover)
# Optional groups, for the long runs behind their own commands (test/run needs neither):
#   setup.sh fuzz       clang and libFuzzer, for `make fuzz`
#   setup.sh memcheck   valgrind, for test/memcheck.sh
for group in "$@"; do
  case $group in
    fuzz)     extra=(clang libclang-rt-14-dev) ;;
    memcheck) extra=(valgrind) ;;
    *)        echo "setup: unknown group '$group' (known: fuzz, memcheck)" >&2; exit 2 ;;
  esac
  for p in "${extra[@]}"; do have_pkg "$p" || need+=("$p"); done
done
# pg_prove and npm may come from elsewhere on a prepared machine
if command -v pg_prove >/dev/null 2>&1; then
  need=("${need[@]/libtap-parser-sourcehandler-pgtap-perl}")
fi
if command -v npm >/dev/null 2>&1; then
  need=("${need[@]/nodejs}"); need=("${need[@]/npm}")
fi
pkgs=()
for p in "${need[@]}"; do [ -n "$p" ] && pkgs+=("$p"); done

if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages ${pkgs[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
echo "setup: system packages present"
