#!/usr/bin/env bash
# Publishes one of the farm's programs the way the container images carry it. The Dockerfiles run this script
# (docker/*.Dockerfile) and so does the test suite (tests/Seg.Deploy.Tests), so that the two cannot drift apart.
#
#   scripts/publish.sh [--version V] [--runtime RID] [--cpu-only] coordinator|worker|cli OUT_DIR
#
#   --version V    the version stamped into the assemblies (default: <Version> of Directory.Build.props)
#   --runtime RID  the runtime identifier (default linux-x64: ONNX Runtime's CUDA build exists only for it)
#   --cpu-only     leave out ONNX Runtime's CUDA and TensorRT provider libraries (about 285 MB): for the CPU worker
#                  image and the coordinator image's `seg` CLI; the CPU provider is inside libonnxruntime.so
#
# Framework-dependent (the images bring the ASP.NET Core runtime), Release, deterministic paths.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
  echo "usage: $0 [--version V] [--runtime RID] [--cpu-only] coordinator|worker|cli OUT_DIR" >&2
  exit 2
}

version=
runtime=linux-x64
cpu_only=false
while (($# > 0)); do
  case $1 in
    --version) (($# >= 2)) || usage; version=$2; shift 2 ;;
    --runtime) (($# >= 2)) || usage; runtime=$2; shift 2 ;;
    --cpu-only) cpu_only=true; shift ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# == 2)) || usage
component=$1
out=$2

extra=()
case $component in
  coordinator) project=src/Seg.Coordinator/Seg.Coordinator.csproj ;;
  worker) project=src/Seg.Worker/Seg.Worker.csproj ;;
  cli)
    project=src/Seg.Cli/Seg.Cli.csproj
    # The CLI references the coordinator and the worker, whose appsettings.json files would collide; it reads
    # neither (its standalone host clears the configuration sources), so the one that lands is removed below.
    extra=(-p:ErrorOnDuplicatePublishOutputFiles=false)
    ;;
  *) usage ;;
esac

if [[ -z $version ]]; then
  version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
  [[ -n $version ]] || { echo "publish: no <Version> in Directory.Build.props" >&2; exit 1; }
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
echo "publish: $component $version ($runtime) -> $out" >&2
dotnet publish "$project" -c Release -r "$runtime" --self-contained false -o "$out" -nologo \
  -p:Version="$version" -p:ContinuousIntegrationBuild=true "${extra[@]}"

if [[ $component == cli ]]; then
  rm -f "$out/appsettings.json"
fi

if [[ $cpu_only == true ]]; then
  rm -f "$out"/libonnxruntime_providers_cuda.so "$out"/libonnxruntime_providers_tensorrt.so
fi
