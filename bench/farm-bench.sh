#!/usr/bin/env bash
# The farm benchmark (docs/performance.md): real RabbitMQ, PostgreSQL and Azurite, one coordinator and two
# worker processes in the fake render mode (a fixed cheap render instead of the pipeline: this measures the
# farm, not the GPUs), then `seg bench farm` submits sweeps and times them.
#   bash bench/farm-bench.sh [--tasks N] [--sweeps N] [--warmup-tasks N] [--accept-tasks N]
# SEG_BENCH_OBSERVABILITY picks what the farm processes observe, one run per word, side by side in one invocation:
#   off  no metrics, no traces (Telemetry__Metrics=false, Telemetry__Tracing=false)
#   on   /metrics scraped by Prometheus every second (infra/dev-services.sh's, when it runs) and every span exported
#        over OTLP/HTTP to a local sink that accepts and drops them (python3)
#   metrics  only the /metrics scrape (no OTLP endpoint, so no spans)
#   traces   only the spans over OTLP (Telemetry__Metrics=false: no /metrics, not scraped)
# Default "on"; "off on off on" compares the cost (docs/performance.md), interleaved so that drift hits both.
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

# A key of this run's own, with every scope; seg bench farm reads it from SEG_API_KEY.
SEG_API_KEY=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
export SEG_API_KEY
MODES=${SEG_BENCH_OBSERVABILITY:-on}
BASE_POSTGRES=$ConnectionStrings__Postgres
SINK_PORT=$((PORT + 3))
SINK_PID=

# An OTLP/HTTP endpoint that answers 200 and drops what it gets: the processes pay for making and exporting spans,
# not for a collector's work.
start_sink() {
  python3 -c '
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Type", "application/x-protobuf"); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
' "$SINK_PORT" >"$LOGS/otlp-sink.log" 2>&1 &
  SINK_PID=$!
  PIDS+=("$SINK_PID")
}

# start_farm MODE: a coordinator and two workers on a fresh database, observing as MODE says.
start_farm() {
  local mode=$1 i
  FARM_PIDS=()
  DATABASE="seg_bench_$RANDOM$RANDOM"
  export ConnectionStrings__Postgres="${BASE_POSTGRES/Database=seg/Database=$DATABASE}"
  export BlobStorage__ContainerName="seg-bench-$RANDOM$RANDOM"
  psql -h 127.0.0.1 -p "${SEG_POSTGRES_PORT:-55432}" -U postgres -q -c "create database \"$DATABASE\"" >/dev/null
  local telemetry=()
  case $mode in
    off) telemetry=(Telemetry__Metrics=false Telemetry__Tracing=false) ;;
    metrics) telemetry=(Telemetry__Tracing=false) ;;
    on | traces)
      [[ -n $SINK_PID ]] || start_sink
      telemetry=(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$SINK_PORT" OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf)
      [[ $mode == traces ]] && telemetry+=(Telemetry__Metrics=false)
      ;;
  esac
  env "${telemetry[@]}" ASPNETCORE_URLS="http://127.0.0.1:$PORT" Logging__LogLevel__Default=Warning Coordinator__MaxInFlight="$MAX_IN_FLIGHT" \
    Auth__ApiKeys__0__Name=bench Auth__ApiKeys__0__Key="$SEG_API_KEY" Auth__ApiKeys__0__Scopes__0=admin \
    dotnet src/Seg.Coordinator/bin/Release/net10.0/Seg.Coordinator.dll >"$LOGS/coordinator-$mode.log" 2>&1 &
  FARM_PIDS+=($!)
  for i in 1 2; do
    env "${telemetry[@]}" ASPNETCORE_URLS="http://127.0.0.1:$((PORT + i))" \
      Worker__WorkerId="bench-$i" Worker__RenderMode=fake Worker__Devices__0=cpu Worker__CpuSlots="$SLOTS" Logging__LogLevel__Default=Warning \
      dotnet src/Seg.Worker/bin/Release/net10.0/Seg.Worker.dll >"$LOGS/worker-$i-$mode.log" 2>&1 &
    FARM_PIDS+=($!)
  done
  PIDS+=("${FARM_PIDS[@]}")
  if [[ ($mode == on || $mode == metrics) && -n ${SEG_PROMETHEUS_DIR:-} ]]; then
    printf '%s' "$SEG_API_KEY" >"$SEG_PROMETHEUS_DIR/coordinator-token"
    printf '[{"targets": ["127.0.0.1:%s"]}]' "$PORT" >"$SEG_PROMETHEUS_DIR/targets/coordinator-bench.json"
    printf '[{"targets": ["127.0.0.1:%s", "127.0.0.1:%s"]}]' "$((PORT + 1))" "$((PORT + 2))" >"$SEG_PROMETHEUS_DIR/targets/worker-bench.json"
  fi
  for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.5
  done
}

# stop_farm: SIGTERM to this run's processes (by pid), CPU seconds of each, and the scrape targets removed.
stop_farm() {
  local pid name ticks
  ticks=$(getconf CLK_TCK)
  for pid in "${FARM_PIDS[@]}"; do
    read -r -a stat <"/proc/$pid/stat"
    name=$(tr '\0' ' ' <"/proc/$pid/cmdline" | grep -oE 'Seg\.[A-Za-z]+\.dll' || echo "$pid")
    echo "cpu: $name $(((stat[13] + stat[14]) / ticks)) s"
  done
  for pid in "${FARM_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${FARM_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n ${SEG_PROMETHEUS_DIR:-} ]]; then rm -f "$SEG_PROMETHEUS_DIR/targets/coordinator-bench.json" "$SEG_PROMETHEUS_DIR/targets/worker-bench.json"; fi
}

for mode in $MODES; do
  [[ $mode =~ ^(on|off|metrics|traces)$ ]] || { echo "SEG_BENCH_OBSERVABILITY: '$mode' is not one of on, off, metrics, traces" >&2; exit 2; }
  echo "## observability $mode"
  start_farm "$mode"
  # SEG_BENCH=web runs `seg bench web` on the same farm instead (bench/web-bench.sh).
  dotnet src/Seg.Cli/bin/Release/net10.0/seg.dll bench "${SEG_BENCH:-farm}" --farm "http://127.0.0.1:$PORT" "$@" | tee "$LOGS/bench-$mode-$RANDOM.txt"
  stop_farm
done
if [[ $MODES == *" "* ]]; then
  echo "## median end-to-end throughput per mode (tasks/s, each run's median of its sweeps)"
  for mode in off metrics traces on; do
    rates=$(grep -h "end-to-end throughput" "$LOGS"/bench-"$mode"-*.txt 2>/dev/null | grep -oE '[0-9]+ tasks/s' | grep -oE '^[0-9]+' | tr '\n' ' ' || true)
    if [[ -n $rates ]]; then echo "$mode: $rates"; fi
  done
fi
# CPU seconds of the services over the whole run.
ticks=$(getconf CLK_TCK)
for name in beam.smp postgres node; do
  total=0
  for pid in $(pgrep -x "$name"); do
    read -r -a stat <"/proc/$pid/stat"
    total=$((total + stat[13] + stat[14]))
  done
  echo "cpu: $name (all processes, since the services started) $((total / ticks)) s"
done
echo "(logs in $LOGS; 2 workers x $SLOTS slots, fake render mode, Coordinator:MaxInFlight $MAX_IN_FLIGHT)"
