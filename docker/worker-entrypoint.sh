#!/usr/bin/env bash
# Entry point of the worker images: starts Seg.Worker.dll from the working directory (the image's /app).
#
# SEG_WORKER_DEVICES is a shorthand for the Worker:Devices list, for hosts where the list is not known when the
# container is configured (docker compose with `count: all` GPUs):
#   all              one slot per GPU the container sees (cuda:0 .. cuda:N-1, counted from /dev/nvidia<N>)
#   cuda:0,cuda:1    the devices named
#   cpu              the CPU (Worker__CpuSlots slots)
# It only applies when Worker__Devices__0 is not set: explicit settings (the Helm chart's) win.
set -euo pipefail

if [[ -n ${SEG_WORKER_DEVICES:-} && -z ${Worker__Devices__0:-} ]]; then
  devices=()
  if [[ $SEG_WORKER_DEVICES == all ]]; then
    shopt -s nullglob
    gpus=(/dev/nvidia[0-9]*)
    shopt -u nullglob
    if ((${#gpus[@]} == 0)); then
      echo "seg-worker: SEG_WORKER_DEVICES=all but the container sees no GPU (/dev/nvidia0 is missing):" \
        "start it with GPUs (NVIDIA container toolkit) or set SEG_WORKER_DEVICES=cpu" >&2
      exit 1
    fi
    for i in "${!gpus[@]}"; do devices+=("cuda:$i"); done
  else
    IFS=', ' read -r -a devices <<<"$SEG_WORKER_DEVICES"
  fi
  for i in "${!devices[@]}"; do
    export "Worker__Devices__$i=${devices[$i]}"
  done
  echo "seg-worker: SEG_WORKER_DEVICES=$SEG_WORKER_DEVICES -> ${devices[*]}" >&2
fi
unset SEG_WORKER_DEVICES

exec dotnet Seg.Worker.dll "$@"
