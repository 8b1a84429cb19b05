#!/usr/bin/env bash
# The farm benchmark (docs/performance.md): real RabbitMQ, PostgreSQL and Azurite, one coordinator and two
# worker processes in the fake render mode (a fixed cheap render instead of the pipeline: this measures the
# farm, not the GPUs), then `seg bench farm` submits sweeps and times them.
#   bash bench/farm-bench.sh [--tasks N] [--sweeps N] [--warmup-tasks N] [--accept-tasks N]
# Environment: SEG_BENCH_WORKER_SLOTS (slots per worker, default 8), SEG_BENCH_MAX_IN_FLIGHT (the coordinator's
# Coordinator:MaxInFlight, default 4 x the two workers' slots: tasks sent but not ended, so each worker has a prefetched
# task ready while its result travels back), SEG_BENCH_PORT (coordinator, 5080; the workers' probes on the next two ports).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SLOTS=${SEG_BENCH_WORKER_SLOTS:-8}
MAX_IN_FLIGHT=${SEG_BENCH_MAX_IN_FLIGHT:-$((4 * 2 * SLOTS))}
PORT=${SEG_BENCH_PORT:-5080}
LOGS=$(mktemp -d /tmp/seg-farm-bench.XXXXXX)
PIDS=()
STARTED_SERVICES=false

cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ $STARTED_SERVICES == true ]]; then bash infra/dev-services.sh stop >/dev/null || true; fi
}
trap cleanup EXIT

# Only what it runs: the coordinator, the worker and seg.
for project in src/Seg.Coordinator src/Seg.Worker src/Seg.Cli; do dotnet build "$project" -c Release -nologo -v quiet >/dev/null; done
if ! bash infra/dev-services.sh status >/dev/null 2>&1; then
  STARTED_SERVICES=true
fi
eval "$(bash infra/dev-services.sh start)"
export ConnectionStrings__Postgres ConnectionStrings__Blobs RabbitMq__Host RabbitMq__Port RabbitMq__Username RabbitMq__Password
DATABASE="seg_bench_$RANDOM$RANDOM"
export ConnectionStrings__Postgres="${ConnectionStrings__Postgres/Database=seg/Database=$DATABASE}"
export BlobStorage__ContainerName="seg-bench-$RANDOM$RANDOM"
psql -h 127.0.0.1 -p "${SEG_POSTGRES_PORT:-55432}" -U postgres -q -c "create database \"$DATABASE\"" >/dev/null

# A key of this run's own, with every scope; seg bench farm reads it from SEG_API_KEY.
SEG_API_KEY=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
export SEG_API_KEY
ASPNETCORE_URLS="http://127.0.0.1:$PORT" Logging__LogLevel__Default=Warning Coordinator__MaxInFlight="$MAX_IN_FLIGHT" \
  Auth__ApiKeys__0__Name=bench Auth__ApiKeys__0__Key="$SEG_API_KEY" Auth__ApiKeys__0__Scopes__0=admin \
  dotnet src/Seg.Coordinator/bin/Release/net10.0/Seg.Coordinator.dll >"$LOGS/coordinator.log" 2>&1 &
PIDS+=($!)
for i in 1 2; do
  ASPNETCORE_URLS="http://127.0.0.1:$((PORT + i))" \
    Worker__WorkerId="bench-$i" Worker__RenderMode=fake Worker__Devices__0=cpu Worker__CpuSlots="$SLOTS" Logging__LogLevel__Default=Warning \
    dotnet src/Seg.Worker/bin/Release/net10.0/Seg.Worker.dll >"$LOGS/worker-$i.log" 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.5
done

# SEG_BENCH=web runs `seg bench web` on the same farm instead (bench/web-bench.sh).
dotnet src/Seg.Cli/bin/Release/net10.0/seg.dll bench "${SEG_BENCH:-farm}" --farm "http://127.0.0.1:$PORT" "$@"
# CPU seconds each farm process used over the whole run (start-up included), to see where the cores went.
ticks=$(getconf CLK_TCK)
for pid in "${PIDS[@]}"; do
  read -r -a stat <"/proc/$pid/stat"
  name=$(tr '\0' ' ' <"/proc/$pid/cmdline" | grep -oE 'Seg\.[A-Za-z]+\.dll' || echo "$pid")
  echo "cpu: $name $(( (stat[13] + stat[14]) / ticks )) s"
done
for name in beam.smp postgres node; do
  total=0
  for pid in $(pgrep -x "$name"); do
    read -r -a stat <"/proc/$pid/stat"
    total=$((total + stat[13] + stat[14]))
  done
  echo "cpu: $name (all processes, since the services started) $((total / ticks)) s"
done
echo "(logs in $LOGS; 2 workers x $SLOTS slots, fake render mode, Coordinator:MaxInFlight $MAX_IN_FLIGHT)"
