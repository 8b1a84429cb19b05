#!/usr/bin/env bash
# Creates (or updates) Grafana's read-only PostgreSQL role seg_grafana in one database:
#   SEG_GRAFANA_DB_PASSWORD=... infra/grafana/create-reader.sh 'postgresql://postgres@host:5432/seg'
# Run after the coordinator migrated the database; see grafana-reader.sql for what the role may do.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
url=${1:?usage: create-reader.sh DATABASE_URL}
psql "$url" -v ON_ERROR_STOP=1 -q -f "$here/grafana-reader.sql"
if [[ -n ${SEG_GRAFANA_DB_PASSWORD:-} ]]; then
  psql "$url" -v ON_ERROR_STOP=1 -q -v password="$SEG_GRAFANA_DB_PASSWORD" <<<"ALTER ROLE seg_grafana PASSWORD :'password';"
fi
