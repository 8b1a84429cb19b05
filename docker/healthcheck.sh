#!/usr/bin/env bash
# The images' HEALTHCHECK (and any probe without an HTTP client): GET http://127.0.0.1:PORT/PATH, healthy on HTTP 200.
# Bash's /dev/tcp instead of curl or wget, which the .NET runtime images leave out on purpose.
#
#   seg-healthcheck [PATH]     PATH defaults to /healthz (liveness); /readyz checks the database, broker and blob store.
#
# PORT is the first of ASPNETCORE_HTTP_PORTS (the images set 8080), or 8080.
set -euo pipefail

path=${1:-/healthz}
port=${ASPNETCORE_HTTP_PORTS:-8080}
port=${port%%[;,]*}

exec 3<>"/dev/tcp/127.0.0.1/$port"
printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$path" >&3
status=
IFS= read -r -t 10 status <&3 || true
exec 3<&-
if [[ $status =~ ^HTTP/1\.[01]\ 200 ]]; then
  exit 0
fi
echo "seg-healthcheck: GET $path on port $port answered '${status%$'\r'}'" >&2
exit 1
