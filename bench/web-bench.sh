#!/usr/bin/env bash
# The web pages' benchmark (docs/performance.md): the farm of bench/farm-bench.sh (real RabbitMQ, PostgreSQL and
# Azurite, one coordinator, two workers in the fake render mode), then `seg bench web` submits a 10,000-task sweep,
# waits for its images and times the sweeps list, the sweep page and a grid page.
#   bash bench/web-bench.sh [--repeats N]
# Environment: as bench/farm-bench.sh (SEG_BENCH_WORKER_SLOTS, SEG_BENCH_MAX_IN_FLIGHT, SEG_BENCH_PORT).
set -euo pipefail
SEG_BENCH=web exec bash "$(dirname "${BASH_SOURCE[0]}")/farm-bench.sh" "$@"
