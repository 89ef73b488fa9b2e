#!/usr/bin/env bash
# Used by secret_statements.sql: for each statement that sets a secret (spelled every way the
# server accepts, each value "$TOKEN_<spelling>"), open a session of its own (application_name
# oc_secret_probe) that runs it and then stays idle for $1 seconds, so that its text stays in
# pg_stat_activity. Runs them in the background and returns at once. Needs TOKEN and DB.
set -u
idle=${1:-8}
statements=(
  "ALTER SYSTEM SET ORACODE.API_KEY = '${TOKEN}_upper'"
  "ALTER SYSTEM SET \"oracode\".\"api_key\" = '${TOKEN}_quoted'"
  "ALTER SYSTEM SET oracode.api_key /* the key: */ = '${TOKEN}_comment'"
  "ALTER SYSTEM SET oracode.api_key = \$\$${TOKEN}_dollar\$\$"
  "ALTER SYSTEM SET oracode . api_key = '${TOKEN}_spaced'"
  "ALTER SYSTEM SET \"oracode.webhook_secret\" TO \$x\$${TOKEN}_tagged\$x\$"
  "ALTER SYSTEM SET oracode.webhook_secret = '${TOKEN}_plain'"
  "SET oracode.api_key = '${TOKEN}_set'"
  "BEGIN; SET LOCAL \"ORACODE\".webhook_secret TO '${TOKEN}_local'"
  "ALTER DATABASE \"${DB}\" SET oracode.webhook_secret = '${TOKEN}_database'"
  "ALTER ROLE CURRENT_USER SET oracode.api_key = '${TOKEN}_role'"
  "ALTER ROLE CURRENT_USER IN DATABASE \"${DB}\" SET \"oracode\".\"API_KEY\" = '${TOKEN}_roledb'"
  "SELECT set_config('oracode.api_key', '${TOKEN}_setconfig', false)"
  "DO \$\$ BEGIN EXECUTE 'SET oracode.api_key = ''${TOKEN}_dynamic'''; END \$\$"
  "ALTER SYSTEM SET oracode.api_key = ${TOKEN}_syntax ${TOKEN}_error"
)
for stmt in "${statements[@]}"; do
  ( printf '%s;\n' "$stmt"; sleep "$idle" ) | PGAPPNAME=oc_secret_probe psql -X -q -d "$DB" >/dev/null 2>&1 &
done
echo "${#statements[@]}"
