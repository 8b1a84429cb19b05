#!/usr/bin/env bash
# Installs the `seg` command from this checkout as a .NET tool: packs src/Seg.Cli and installs (or updates) the
# package, on the PATH by default (~/.dotnet/tools; add it to PATH if the SDK has not).
#
#   scripts/install-seg.sh [--tool-path DIR]
#
#   --tool-path DIR  install into DIR instead of the global tools folder (DIR/seg is the command)
#
# Each install gets a version of its own (<Version>-dev.<UTC time>), so that NuGet's caches never hand back an
# older build of the same version.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

where=(--global)
while (($# > 0)); do
  case $1 in
    --tool-path) (($# >= 2)) || { echo "usage: $0 [--tool-path DIR]" >&2; exit 2; }; where=(--tool-path "$2"); shift 2 ;;
    *) echo "usage: $0 [--tool-path DIR]" >&2; exit 2 ;;
  esac
done

base=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)
version="$base-dev.$(date -u +%Y%m%d%H%M%S)"
packages=$(mktemp -d)
trap 'rm -rf "$packages"' EXIT

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
echo "install-seg: packing seg $version" >&2
dotnet pack src/Seg.Cli/Seg.Cli.csproj -c Release -o "$packages" -nologo -p:PackageVersion="$version" >&2
# `update` installs the tool when it is missing and replaces an older one. A private package cache: the tool store
# keeps its own copy, and the global cache would keep one more (about 350 MB) per install.
NUGET_PACKAGES="$packages/cache" dotnet tool update Seg.Cli "${where[@]}" --add-source "$packages" --version "$version" >&2
echo "install-seg: installed seg $version (${where[*]})" >&2
