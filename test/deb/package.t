#!/usr/bin/env bash
# The Debian package: build postgresql-15-oracode with dpkg-buildpackage the
# way PostgreSQL's extension packages are built (pg_buildext, which also runs
# the pg_regress suites against the built files in a throwaway cluster),
# check its contents, install it with dpkg -i, CREATE EXTENSION from it in a
# fresh cluster (without and with the worker preloaded), remove it, and put
# back what `make install` had installed, so the rest of the suite is as it
# was. Prints TAP (test/run runs it with prove). Needs root (dpkg -i).
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
# shellcheck source=../ha/tap.sh
. test/ha/tap.sh
# shellcheck source=../../scripts/cluster.sh
. scripts/cluster.sh

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP dpkg -i needs root"; exit 0; fi
pkg=postgresql-15-oracode
pkglib=$(pg_config --pkglibdir)
extdir=$(pg_config --sharedir)/extension
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
  tap_bail "$pkg is already installed on this machine; this test would remove it"
fi

# build in a copy of the sources, so the work tree (where test/run built) is untouched
work=$(mktemp -d /tmp/oracode-deb.XXXXXX)
chmod 755 "$work"   # pg_virtualenv's cluster user reads the built files
on_exit "rm -rf '$work'"
mkdir "$work/oracode"
cp -a Makefile oracode.control README.md LICENSE CHANGELOG.md META.json src sql expected debian "$work/oracode/"
rm -f "$work/oracode"/src/*.o "$work/oracode"/src/*.bc "$work/oracode"/*.so

# without the caller's PG* settings: pg_virtualenv's throwaway cluster would take their port
(cd "$work/oracode" && env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
build_rc=$?
tap_is "$build_rc" 0 "dpkg-buildpackage -us -uc -b builds the package"
if [ "$build_rc" -ne 0 ]; then tail -n 40 "$work/build.log" | tap_diag -; tap_done; exit 1; fi
tap_ok "pg_buildext ran the pg_regress suites on the built files" grep -q "All 2 tests passed" "$work/build.log"

# the source package too: its format (3.0 native) and the changelog's version must agree
(cd "$work" && dpkg-source -b oracode) >"$work/source.log" 2>&1
tap_is "$?" 0 "dpkg-source -b builds the source package (format and version agree)"

version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" oracode.control)
deb=$(ls "$work"/${pkg}_*.deb 2>/dev/null | head -1)
tap_ok "the package file is ${pkg}_${version}_*.deb" test -f "$work/${pkg}_${version}_$(dpkg --print-architecture).deb"
tap_is "$(dpkg-deb -f "$deb" Package)" "$pkg" "its name is $pkg"
tap_ok "it depends on postgresql-15, libcurl and libcjson" \
  bash -c "dpkg-deb -f '$deb' Depends | grep -q 'postgresql-15' && dpkg-deb -f '$deb' Depends | grep -q libcurl4 && dpkg-deb -f '$deb' Depends | grep -q libcjson1"
contents=$(dpkg -c "$deb" | awk '{print $6}')
for f in ".$pkglib/oracode.so" ".$extdir/oracode.control" ".$extdir/oracode--0.1.0.sql" \
         ".$extdir/oracode--0.1.0--0.2.0.sql" ".$extdir/oracode--0.2.0--0.3.0.sql" ".$extdir/oracode--0.3.0--0.4.0.sql" ".$extdir/oracode--0.4.0.sql" "./usr/share/doc/$pkg/README.md.gz"; do
  tap_ok "it contains ${f#.}" grep -qxF "$f" <<<"$contents"
done

# install it over what make install put there; put that back at the end
restore() {
  dpkg -r "$pkg" >/dev/null 2>&1
  make -s -C "$top" install >/dev/null 2>&1
}
on_exit restore
tap_ok "dpkg -i installs it" quietly dpkg -i "$deb"
tap_is "$(dpkg-query -S "$pkglib/oracode.so" 2>/dev/null | cut -d: -f1)" "$pkg" "oracode.so now belongs to the package"

# a cluster without the worker: the SQL functions work, health says so
cluster_start "shared_preload_libraries = ''" "oracode.database = 'debtest'" || tap_bail "cannot start PostgreSQL"
createdb debtest || tap_bail "createdb failed"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d debtest -c "$1" 2>&1; }
tap_is "$(q 'CREATE EXTENSION oracode' && q "SELECT extversion FROM pg_extension WHERE extname = 'oracode'")" "$version" \
  "CREATE EXTENSION oracode installs $version from the package"
tap_is "$(q "SELECT slot_name || ' ' || to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM oracode_match_slot('[{\"name\":\"Guest 4pm-10am\",\"check_in_time\":\"16:00:00[America/Los_Angeles]\",\"check_out_time\":\"10:00:00[America/Los_Angeles]\"}]', '2024-09-10 15:45-07', '2024-09-15 10:15-07')")" \
  "Guest 4pm-10am 2024-09-10 23:00" "oracode_match_slot works (Seam's example)"
tap_is "$(q "SELECT state || ' ' || preloaded FROM oracode.worker_health")" "not preloaded false" \
  "without shared_preload_libraries the health view says so"

# with the worker preloaded from the package's library
cluster_conf "shared_preload_libraries = 'oracode'"
cluster_restart || tap_bail "cannot restart PostgreSQL"
running() { [ "$(q "SELECT state FROM oracode.worker_health")" = running ]; }
tap_ok "preloaded, the package's worker starts in oracode.database" wait_until 30 running
tap_is "$(q "SELECT last_error FROM oracode.worker_health")" "oracode.api_key is not set" \
  "and reports that it has no API key"
cluster_stop

tap_ok "dpkg -r removes it" quietly dpkg -r "$pkg"
tap_ok "the extension files went with it" test ! -e "$extdir/oracode.control"
restore
tap_ok "make install put the work tree's build back" test -e "$extdir/oracode.control"
tap_done
