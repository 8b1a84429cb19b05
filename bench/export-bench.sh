#!/usr/bin/env bash
# Export benchmark: `seg export` of a standalone run folder in each format; images per second (the export itself,
# as seg export reports it, without process start), the process's CPU time (user + sys, which machine load
# changes less than wall time) and its peak resident memory (GNU time's %M).
#
#   bench/export-bench.sh RUN_DIR [OUT_ROOT]
#
# Make the run folder with the fake render, e.g. 20,000 images:
#   seg run sweep20000.yaml --fake-render --slots 2 --out RUN_DIR
# (prompts x 500 seeds x seg_scale [0, 3] x seg_blur_sigma [inf, 2], 64x64; see docs/performance.md).
set -euo pipefail
RUN_DIR=${1:?usage: export-bench.sh RUN_DIR [OUT_ROOT]}
OUT_ROOT=${2:-$(mktemp -d)}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SEG=${SEG:-src/Seg.Cli/bin/Release/net10.0/seg.dll}
[[ -f $SEG ]] || dotnet build src/Seg.Cli -c Release >/dev/null
printf '| format | images | seconds | images/s | CPU s (user+sys) | images per CPU s | peak RSS MB |\n|---|---:|---:|---:|---:|---:|---:|\n'
for format in imagefolder webdataset parquet; do
  out="$OUT_ROOT/$format"
  rm -rf "$out"
  log=$(mktemp)
  /usr/bin/time -f 'peak_kb=%M cpu=%U+%S' dotnet "$SEG" export "$RUN_DIR" --format "$format" --out "$out" >"$log" 2>&1
  images=$(sed -n 's/^exported \([0-9]*\) images.*/\1/p' "$log")
  seconds=$(sed -n 's/^in \([0-9.]*\) s .*/\1/p' "$log")
  rate=$(sed -n 's/^in [0-9.]* s (\([0-9]*\) images\/s)/\1/p' "$log")
  peak=$(sed -n 's/^peak_kb=\([0-9]*\) .*/\1/p' "$log")
  cpu=$(sed -n 's/^peak_kb=[0-9]* cpu=\(.*\)/\1/p' "$log" | bc)
  per_cpu=$(echo "$images / $cpu" | bc)
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$format" "$images" "$seconds" "$rate" "$cpu" "$per_cpu" "$((peak / 1024))"
  rm -f "$log"
done
