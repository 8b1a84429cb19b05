#!/usr/bin/env bash
# Sweep status at scale (issue 13, docs/performance.md): a real coordinator process on real PostgreSQL (and
# RabbitMQ, which it needs to start; no workers, so nothing renders), then over HTTP: submit one sweep of N tasks,
# GET the sweep and the sweep list R times each (p50/p95), and cancel it. Run by hand, not in CI (CI runs
# SweepStatusScaleTests, the same steps at 3,000 tasks, for correctness only).
#   bash bench/sweep-status-bench.sh [TASKS (default 1000000)] [REQUESTS (default 200)]
# Before the measured submit, a warm-up sweep (SEG_BENCH_WARMUP_TASKS, default 200000; left pending) is submitted and
# timed as the first submit after start, then SEG_BENCH_WARMUP_SECONDS (default 20) pass: a coordinator that has run
# for a while has compiled its code at the JIT's final tier, while a process seconds old recompiles thousands of
# methods meanwhile (in a freshly started coordinator the JIT took a quarter of the CPU of a million-task submit).
# Environment: SEG_BENCH_PORT (coordinator, default 5090); the services as infra/dev-services.sh prints them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TASKS=${1:-1000000}
REQUESTS=${2:-200}
PORT=${SEG_BENCH_PORT:-5090}
LOGS=$(mktemp -d /tmp/seg-status-bench.XXXXXX)
PIDS=()
STARTED_SERVICES=false

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $STARTED_SERVICES == true ]]; then bash infra/dev-services.sh stop >/dev/null || true; fi
}
trap cleanup EXIT

dotnet build src/Seg.Coordinator -c Release -nologo -v quiet >/dev/null
if ! bash infra/dev-services.sh status >/dev/null 2>&1; then
  STARTED_SERVICES=true
fi
eval "$(bash infra/dev-services.sh start)"
export ConnectionStrings__Postgres ConnectionStrings__Blobs RabbitMq__Host RabbitMq__Port RabbitMq__Username RabbitMq__Password
DATABASE="seg_bench_$RANDOM$RANDOM"
export ConnectionStrings__Postgres="${ConnectionStrings__Postgres/Database=seg/Database=$DATABASE}"
psql -h 127.0.0.1 -p "${SEG_POSTGRES_PORT:-55432}" -U postgres -q -c "create database \"$DATABASE\"" >/dev/null

KEY=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
QUEUE="render-tasks-status-bench-$RANDOM"
ASPNETCORE_URLS="http://127.0.0.1:$PORT" Logging__LogLevel__Default=Warning Coordinator__RenderTaskQueue="$QUEUE" \
  Auth__ApiKeys__0__Name=bench Auth__ApiKeys__0__Key="$KEY" Auth__ApiKeys__0__Scopes__0=admin Auth__SubmitsPerMinute=1000 \
  dotnet src/Seg.Coordinator/bin/Release/net10.0/Seg.Coordinator.dll >"$LOGS/coordinator.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.5
done

api() { curl -sS -H "Authorization: Bearer $KEY" "$@"; }
# Milliseconds of one request (curl's total time).
timed() { api -o /dev/null -w '%{time_total}\n' "$@" | awk '{ printf "%.1f\n", $1 * 1000 }'; }
percentiles() { sort -n | awk '{ v[NR] = $1 } END { printf "p50 %.1f ms, p95 %.1f ms, max %.1f ms (%d requests)\n", v[int(NR * 0.5 + 0.5)], v[int(NR * 0.95 + 0.5)], v[NR], NR }'; }

# A few small sweeps first, so that the list has more than one row.
for i in 1 2 3; do
  SMALL=$(api -H 'Content-Type: application/yaml' --data-binary "$(printf 'name: small-%s\nmodel: m\nprompts: [a]\nseeds: {start: 0, count: 10}\n' "$i")" \
    "http://127.0.0.1:$PORT/api/sweeps" | sed -E 's/.*"id":"([^"]+)".*/\1/')
done
# The same GET of a 10-task sweep, as a baseline of this machine's load at the time.
echo "GET /api/sweeps/{id} of a 10-task sweep: $(for _ in $(seq 1 "$REQUESTS"); do timed "http://127.0.0.1:$PORT/api/sweeps/$SMALL"; done | percentiles)"

WARMUP_TASKS=${SEG_BENCH_WARMUP_TASKS:-200000}
if ((WARMUP_TASKS > 0)); then
  start=$(date +%s.%N)
  api -o /dev/null -H 'Content-Type: application/yaml' --data-binary "$(printf 'name: warm-up\nmodel: m\nprompts: [a]\nseeds: {start: 0, count: %s}\n' "$WARMUP_TASKS")" \
    "http://127.0.0.1:$PORT/api/sweeps"
  echo "first submit after start, $WARMUP_TASKS tasks (warm-up): $(echo "$(date +%s.%N) - $start" | bc) s"
  sleep "${SEG_BENCH_WARMUP_SECONDS:-20}"
fi

SWEEP=$(printf 'name: big\nmodel: m\nprompts: [a photo of a cat]\nseeds: {start: 0, count: %s}\n' "$TASKS")
start=$(date +%s.%N)
ID=$(api -H 'Content-Type: application/yaml' --data-binary "$SWEEP" "http://127.0.0.1:$PORT/api/sweeps" | sed -E 's/.*"id":"([^"]+)".*/\1/')
submit=$(echo "$(date +%s.%N) - $start" | bc)
echo "submit of $TASKS tasks: ${submit} s (sweep $ID)"

for _ in $(seq 1 5); do timed "http://127.0.0.1:$PORT/api/sweeps/$ID" >/dev/null; done # warm-up
echo "GET /api/sweeps/{id}: $(for _ in $(seq 1 "$REQUESTS"); do timed "http://127.0.0.1:$PORT/api/sweeps/$ID"; done | percentiles)"
echo "GET /api/sweeps:      $(for _ in $(seq 1 "$REQUESTS"); do timed "http://127.0.0.1:$PORT/api/sweeps"; done | percentiles)"

start=$(date +%s.%N)
CANCELLED=$(api -X POST "http://127.0.0.1:$PORT/api/sweeps/$ID/cancel" | sed -E 's/.*"tasksAffected":([0-9]+).*/\1/')
cancel=$(echo "$(date +%s.%N) - $start" | bc)
echo "cancel: ${cancel} s ($CANCELLED tasks cancelled)"
echo "after cancel: $(api "http://127.0.0.1:$PORT/api/sweeps/$ID" | grep -oE '"tasks":\{[^}]*\}')"
echo "(database $DATABASE left for inspection; logs in $LOGS)"
