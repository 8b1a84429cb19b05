#!/usr/bin/env bash
# Installs, starts, stops and checks the farm's real services on 127.0.0.1 without Docker:
# RabbitMQ (Debian package), PostgreSQL (Debian package), Azurite (npm, blob service only) and Prometheus
# (Debian package, for the dashboard tests: it scrapes the targets that tests write into
# $SEG_SERVICES_DIR/prometheus/targets, the coordinator with the bearer token in .../prometheus/coordinator-token).
#
#   infra/dev-services.sh start  [--keep-data] [rabbitmq|postgres|azurite|prometheus ...]   (default: all four)
#   infra/dev-services.sh stop   [service ...]
#   infra/dev-services.sh status [service ...]
#
# `start` prints the connection settings as `export NAME='value'` lines on stdout (everything else goes
# to stderr), so `eval "$(infra/dev-services.sh start)"` works; the same lines are written to
# $SEG_SERVICES_DIR/env for `source`. Each service starts with empty data: data lives in the run folder
# and is wiped when a stopped service starts again, unless `--keep-data` is given (PostgreSQL and RabbitMQ then
# start on the data they had when they stopped, e.g. to test an outage; Azurite keeps its data in memory only,
# so it always starts empty). See infra/README.md.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${SEG_SERVICES_DIR:-/tmp/seg-services}
RABBITMQ_PORT=${SEG_RABBITMQ_PORT:-5672}
POSTGRES_PORT=${SEG_POSTGRES_PORT:-55432}
AZURITE_PORT=${SEG_AZURITE_PORT:-10000}
PROMETHEUS_PORT=${SEG_PROMETHEUS_PORT:-9090}
AZURITE_VERSION=3.37.0
AZURITE_DIR=${SEG_AZURITE_DIR:-$REPO_ROOT/.cache/azurite}
POSTGRES_DATABASE=seg
POSTGRES_USER=postgres
# Azurite's well-known development account (public, documented by Microsoft).
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
ALL_SERVICES=(rabbitmq postgres azurite prometheus)
KEEP_DATA=false

log() { printf '[dev-services] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- helpers -------------------------------------------------------------------------------------

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND once a second until it succeeds.
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$what did not happen within ${limit}s"
      return 1
    fi
    sleep 1
  done
}

pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

read_file_or_empty() { if [[ -r $1 ]]; then head -n 1 "$1"; fi; }

# tcp_open PORT: true when something accepts connections on 127.0.0.1:PORT (bash only, no nc needed).
tcp_open() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# stop_pid PID SECONDS: TERM, wait, then KILL: the fallback when a service's own stop command fails.
stop_pid() {
  local pid=$1 limit=$2
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$limit" "exit of pid $pid" bash -c "! kill -0 $pid"; then
    log "pid $pid ignored SIGTERM, killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
}

require_root() {
  ((EUID == 0)) || die "$1 needs root (installing Debian packages and running RabbitMQ as its own user)"
}

APT_UPDATED=false
# apt_install PACKAGE...: installs the packages, refreshing the package lists only when apt knows no
# candidate for one of them (fresh images ship without lists).
apt_install() {
  require_root "installing $*"
  local package
  if [[ $APT_UPDATED == false ]]; then
    for package in "$@"; do
      if ! apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [^(]'; then
        log "apt-get update (no candidate for $package)"
        timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || die "apt-get update failed"
        APT_UPDATED=true
        break
      fi
    done
  fi
  # Package scripts must not start the system-wide services (RabbitMQ would take port 5672): Debian's
  # policy-rc.d convention; Docker-built images already carry one, other machines get one for the install.
  local own_policy=false
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=true
  fi
  log "apt-get install $*"
  local status=0
  DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >&2 || status=$?
  if ((status != 0)) && [[ $APT_UPDATED == false ]]; then
    # Stale lists point at files the mirror no longer has: refresh once and retry.
    log "apt-get install failed (exit $status); apt-get update and retry"
    status=0
    timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 && APT_UPDATED=true &&
      DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >&2 || status=$?
  fi
  if [[ $own_policy == true ]]; then rm -f /usr/sbin/policy-rc.d; fi
  ((status == 0)) || die "apt-get install $* failed (exit $status)"
}

# --- RabbitMQ ------------------------------------------------------------------------------------

RABBITMQ_DIR=$RUN_DIR/rabbitmq

# Every rabbitmq-server / rabbitmqctl / rabbitmq-diagnostics call needs the same node settings.
rabbitmq_port() {
  local port
  port=$(read_file_or_empty "$RABBITMQ_DIR/port")
  echo "${port:-$RABBITMQ_PORT}"
}

rabbitmq_env() {
  local port
  port=$(rabbitmq_port)
  # The port in the node name keeps runs on different ports apart (they share epmd).
  export RABBITMQ_NODENAME=rabbit-$port@localhost
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT=$port
  export RABBITMQ_DIST_PORT=$((port + 20000))
  export ERL_EPMD_ADDRESS=127.0.0.1
  export RABBITMQ_MNESIA_BASE=$RABBITMQ_DIR/mnesia
  export RABBITMQ_LOG_BASE=$RABBITMQ_DIR/log
  export RABBITMQ_PID_FILE=$RABBITMQ_DIR/rabbitmq.pid
  export RABBITMQ_CONFIG_FILE=$RABBITMQ_DIR/rabbitmq.conf
  export RABBITMQ_CONF_ENV_FILE=$RABBITMQ_DIR/rabbitmq-env.conf
  # An empty plugin list: no management UI (not needed, and it would take port 15672).
  export RABBITMQ_ENABLED_PLUGINS_FILE=$RABBITMQ_DIR/enabled_plugins
  # Erlang distribution (server and CLI tools) on loopback only.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
  export RABBITMQ_CTL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
}

rabbitmq_pid() { read_file_or_empty "$RABBITMQ_DIR/rabbitmq.pid"; }

rabbitmq_answers() {
  command -v rabbitmq-diagnostics >/dev/null || return 1
  rabbitmq_env
  timeout 20 rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1
}

rabbitmq_start() {
  if pid_alive "$(rabbitmq_pid)"; then
    if wait_until 60 "RabbitMQ answering" rabbitmq_answers; then
      log "rabbitmq: already running (pid $(rabbitmq_pid), port $(rabbitmq_port))"
      return 0
    fi
    die "rabbitmq: pid $(rabbitmq_pid) is alive but does not answer; see $RABBITMQ_DIR/log"
  fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  require_root "starting RabbitMQ"
  if tcp_open "$RABBITMQ_PORT"; then die "rabbitmq: port $RABBITMQ_PORT is taken by another process (set SEG_RABBITMQ_PORT)"; fi

  if [[ $KEEP_DATA == true && -d $RABBITMQ_DIR/mnesia ]]; then
    log "rabbitmq: keeping the data in $RABBITMQ_DIR/mnesia"
  else
    rm -rf "$RABBITMQ_DIR"
  fi
  mkdir -p "$RABBITMQ_DIR/mnesia" "$RABBITMQ_DIR/log"
  echo "$RABBITMQ_PORT" >"$RABBITMQ_DIR/port"
  echo '[].' >"$RABBITMQ_DIR/enabled_plugins"
  : >"$RABBITMQ_DIR/rabbitmq-env.conf"
  # guest may connect from loopback only (RabbitMQ's default, stated so that nobody widens it here).
  echo 'loopback_users.guest = true' >"$RABBITMQ_DIR/rabbitmq.conf"
  chown -R rabbitmq:rabbitmq "$RABBITMQ_DIR"
  rabbitmq_env

  local started=$SECONDS
  log "rabbitmq: starting on 127.0.0.1:$RABBITMQ_PORT (logs in $RABBITMQ_DIR/log)"
  # Debian's wrapper switches to the rabbitmq user and keeps the environment.
  timeout 60 rabbitmq-server -detached >>"$RABBITMQ_DIR/start.log" 2>&1 ||
    die "rabbitmq: rabbitmq-server -detached failed; see $RABBITMQ_DIR/start.log"
  # `await_startup` right after -detached fails (the node is not registered yet): poll the port check.
  wait_until 90 "RabbitMQ answering" rabbitmq_answers ||
    die "rabbitmq: not answering; see $RABBITMQ_DIR/log and $RABBITMQ_DIR/start.log"
  log "rabbitmq: ready after $((SECONDS - started))s (pid $(rabbitmq_pid))"
}

rabbitmq_stop() {
  local pid
  pid=$(rabbitmq_pid)
  if ! pid_alive "$pid"; then
    log "rabbitmq: not running"
    rm -f "$RABBITMQ_DIR/rabbitmq.pid" "$RABBITMQ_DIR/port"
    return 0
  fi
  rabbitmq_env
  log "rabbitmq: stopping pid $pid"
  timeout 60 rabbitmqctl -q shutdown >&2 || log "rabbitmq: rabbitmqctl shutdown failed, signalling pid $pid"
  stop_pid "$pid" 20
  # epmd outlives the node; stop it only when no other Erlang node is registered with it.
  if command -v epmd >/dev/null && ! timeout 10 epmd -names 2>/dev/null | grep -q '^name '; then
    timeout 10 epmd -kill >/dev/null 2>&1 || true
  fi
  rm -f "$RABBITMQ_DIR/rabbitmq.pid" "$RABBITMQ_DIR/port"
  log "rabbitmq: stopped"
}

# --- PostgreSQL ----------------------------------------------------------------------------------

POSTGRES_DIR=$RUN_DIR/postgres

postgres_bin() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
  [[ -n $dir && -x $dir/initdb ]] || return 1
  echo "$dir"
}

# initdb and the server refuse to run as root.
as_postgres() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

postgres_pid() { read_file_or_empty "$POSTGRES_DIR/data/postmaster.pid"; }

postgres_port() {
  local port
  port=$(read_file_or_empty "$POSTGRES_DIR/port")
  echo "${port:-$POSTGRES_PORT}"
}

postgres_answers() {
  local bin
  bin=$(postgres_bin) || return 1
  timeout 10 "$bin/pg_isready" -q -h 127.0.0.1 -p "$(postgres_port)" -t 5
}

postgres_start() {
  if pid_alive "$(postgres_pid)"; then
    if wait_until 30 "PostgreSQL answering" postgres_answers; then
      log "postgres: already running (pid $(postgres_pid), port $(postgres_port))"
      return 0
    fi
    die "postgres: pid $(postgres_pid) is alive but does not answer; see $POSTGRES_DIR/postgres.log"
  fi
  postgres_bin >/dev/null || apt_install postgresql
  local bin
  bin=$(postgres_bin) || die "postgres: no /usr/lib/postgresql/*/bin/initdb after installing postgresql"
  if tcp_open "$POSTGRES_PORT"; then die "postgres: port $POSTGRES_PORT is taken by another process (set SEG_POSTGRES_PORT)"; fi

  local started=$SECONDS
  if [[ $KEEP_DATA == true && -f $POSTGRES_DIR/data/PG_VERSION ]]; then
    log "postgres: keeping the data in $POSTGRES_DIR/data"
    echo "$POSTGRES_PORT" >"$POSTGRES_DIR/port"
  else
    rm -rf "$POSTGRES_DIR"
    mkdir -p "$POSTGRES_DIR"
    echo "$POSTGRES_PORT" >"$POSTGRES_DIR/port"
    if ((EUID == 0)); then chown -R postgres:postgres "$POSTGRES_DIR"; fi
    log "postgres: initdb into $POSTGRES_DIR/data"
    as_postgres timeout 120 "$bin/initdb" -D "$POSTGRES_DIR/data" -U "$POSTGRES_USER" --auth=trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$POSTGRES_DIR/initdb.log" 2>&1 ||
      die "postgres: initdb failed; see $POSTGRES_DIR/initdb.log"
  fi
  log "postgres: starting on 127.0.0.1:$POSTGRES_PORT"
  # The data are thrown away at the next start, so durability settings are off for speed.
  as_postgres timeout 90 "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -k $POSTGRES_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >&2 || die "postgres: pg_ctl start failed; see $POSTGRES_DIR/postgres.log"
  wait_until 30 "PostgreSQL answering" postgres_answers || die "postgres: pg_isready fails; see $POSTGRES_DIR/postgres.log"

  local psql=("$bin/psql" -h 127.0.0.1 -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 -qtA)
  if [[ $(timeout 30 "${psql[@]}" -c "select 1 from pg_roles where rolname = '$POSTGRES_USER'") != 1 ]]; then
    timeout 30 "${psql[@]}" -c "create role \"$POSTGRES_USER\" superuser login" >&2
  fi
  if [[ $(timeout 30 "${psql[@]}" -c "select 1 from pg_database where datname = '$POSTGRES_DATABASE'") != 1 ]]; then
    timeout 30 "${psql[@]}" -c "create database \"$POSTGRES_DATABASE\" owner \"$POSTGRES_USER\"" >&2
  fi
  log "postgres: ready after $((SECONDS - started))s (pid $(postgres_pid), database $POSTGRES_DATABASE)"
}

postgres_stop() {
  local pid bin
  pid=$(postgres_pid)
  if ! pid_alive "$pid"; then
    log "postgres: not running"
    rm -f "$POSTGRES_DIR/port"
    return 0
  fi
  log "postgres: stopping pid $pid"
  if bin=$(postgres_bin); then
    as_postgres timeout 90 "$bin/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w -t 60 stop >&2 ||
      log "postgres: pg_ctl stop failed, signalling pid $pid"
  fi
  stop_pid "$pid" 20
  rm -f "$POSTGRES_DIR/port"
  log "postgres: stopped"
}

# --- Azurite -------------------------------------------------------------------------------------

AZURITE_RUN_DIR=$RUN_DIR/azurite
AZURITE_BIN=$AZURITE_DIR/node_modules/.bin/azurite-blob

azurite_pid() { read_file_or_empty "$AZURITE_RUN_DIR/pid"; }

azurite_port() {
  local port
  port=$(read_file_or_empty "$AZURITE_RUN_DIR/port")
  echo "${port:-$AZURITE_PORT}"
}

# Any HTTP answer counts (an anonymous request gets an error status from a healthy Azurite).
azurite_answers() {
  local code
  if command -v curl >/dev/null; then
    code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://127.0.0.1:$(azurite_port)/$AZURITE_ACCOUNT?comp=list") || true
    [[ -n $code && $code != 000 ]]
  else
    tcp_open "$(azurite_port)"
  fi
}

azurite_installed_version() {
  local manifest=$AZURITE_DIR/node_modules/azurite/package.json
  [[ -r $manifest ]] || return 0
  node -p 'require(process.argv[1]).version' "$manifest" 2>/dev/null || true
}

azurite_install() {
  if [[ -x $AZURITE_BIN && $(azurite_installed_version) == "$AZURITE_VERSION" ]]; then
    return 0
  fi
  command -v npm >/dev/null || die "azurite: npm is not installed"
  mkdir -p "$AZURITE_DIR"
  local started=$SECONDS
  log "azurite: npm install azurite@$AZURITE_VERSION into $AZURITE_DIR"
  # A package.json of its own so that npm does not walk up to some other project.
  [[ -f $AZURITE_DIR/package.json ]] || echo '{ "name": "seg-azurite-cache", "private": true }' >"$AZURITE_DIR/package.json"
  timeout 600 npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2 || die "azurite: npm install failed"
  [[ -x $AZURITE_BIN ]] || die "azurite: $AZURITE_BIN missing after npm install"
  log "azurite: installed in $((SECONDS - started))s"
}

azurite_start() {
  if pid_alive "$(azurite_pid)"; then
    if wait_until 30 "Azurite answering" azurite_answers; then
      log "azurite: already running (pid $(azurite_pid), port $(azurite_port))"
      return 0
    fi
    die "azurite: pid $(azurite_pid) is alive but does not answer; see $AZURITE_RUN_DIR/azurite.log"
  fi
  azurite_install
  if tcp_open "$AZURITE_PORT"; then die "azurite: port $AZURITE_PORT is taken by another process (set SEG_AZURITE_PORT)"; fi

  rm -rf "$AZURITE_RUN_DIR"
  mkdir -p "$AZURITE_RUN_DIR"
  echo "$AZURITE_PORT" >"$AZURITE_RUN_DIR/port"
  local started=$SECONDS
  log "azurite: starting blob service on 127.0.0.1:$AZURITE_PORT (in memory)"
  # setsid: its own session, so that the caller's Ctrl-C or process-group kill does not reach it.
  # --silent: no access log line per request (a sixth of Azurite's CPU in the farm benchmark); SEG_AZURITE_ACCESS_LOG=1
  # keeps it, for debugging requests.
  local access_log=(--silent)
  [[ ${SEG_AZURITE_ACCESS_LOG:-0} == 1 ]] && access_log=()
  (cd "$AZURITE_RUN_DIR" && exec setsid "$AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" \
    --inMemoryPersistence --skipApiVersionCheck --loose --disableTelemetry "${access_log[@]}" \
    >"$AZURITE_RUN_DIR/azurite.log" 2>&1 </dev/null) &
  echo $! >"$AZURITE_RUN_DIR/pid"
  if ! wait_until 60 "Azurite answering" azurite_answers; then
    stop_pid "$(azurite_pid)" 5
    die "azurite: not answering; see $AZURITE_RUN_DIR/azurite.log"
  fi
  log "azurite: ready after $((SECONDS - started))s (pid $(azurite_pid))"
}

azurite_stop() {
  local pid
  pid=$(azurite_pid)
  if ! pid_alive "$pid"; then
    log "azurite: not running"
    rm -f "$AZURITE_RUN_DIR/pid" "$AZURITE_RUN_DIR/port"
    return 0
  fi
  log "azurite: stopping pid $pid"
  stop_pid "$pid" 20
  rm -f "$AZURITE_RUN_DIR/pid" "$AZURITE_RUN_DIR/port"
  log "azurite: stopped"
}

# --- Prometheus ----------------------------------------------------------------------------------

PROMETHEUS_RUN_DIR=$RUN_DIR/prometheus

prometheus_pid() { read_file_or_empty "$PROMETHEUS_RUN_DIR/pid"; }

prometheus_port() {
  local port
  port=$(read_file_or_empty "$PROMETHEUS_RUN_DIR/port")
  echo "${port:-$PROMETHEUS_PORT}"
}

prometheus_answers() {
  if command -v curl >/dev/null; then
    curl -sf -m 5 "http://127.0.0.1:$(prometheus_port)/-/ready" >/dev/null
  else
    tcp_open "$(prometheus_port)"
  fi
}

prometheus_start() {
  if pid_alive "$(prometheus_pid)"; then
    if wait_until 30 "Prometheus answering" prometheus_answers; then
      log "prometheus: already running (pid $(prometheus_pid), port $(prometheus_port))"
      return 0
    fi
    die "prometheus: pid $(prometheus_pid) is alive but does not answer; see $PROMETHEUS_RUN_DIR/prometheus.log"
  fi
  command -v prometheus >/dev/null || apt_install prometheus
  if tcp_open "$PROMETHEUS_PORT"; then die "prometheus: port $PROMETHEUS_PORT is taken by another process (set SEG_PROMETHEUS_PORT)"; fi

  rm -rf "$PROMETHEUS_RUN_DIR"
  mkdir -p "$PROMETHEUS_RUN_DIR/targets" "$PROMETHEUS_RUN_DIR/data"
  echo "$PROMETHEUS_PORT" >"$PROMETHEUS_RUN_DIR/port"
  : >"$PROMETHEUS_RUN_DIR/coordinator-token"
  # The tests' own scrape configuration: targets come from files the tests write (file service discovery re-reads
  # them), a scrape a second so that a short sweep leaves enough samples for rate().
  sed -e "s|@RUN_DIR@|$PROMETHEUS_RUN_DIR|g" "$REPO_ROOT/infra/prometheus/prometheus-dev.yml" >"$PROMETHEUS_RUN_DIR/prometheus.yml"
  local started=$SECONDS
  log "prometheus: starting on 127.0.0.1:$PROMETHEUS_PORT"
  (cd "$PROMETHEUS_RUN_DIR" && exec setsid prometheus --config.file="$PROMETHEUS_RUN_DIR/prometheus.yml" \
    --storage.tsdb.path="$PROMETHEUS_RUN_DIR/data" --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
    --storage.tsdb.retention.time=1d >"$PROMETHEUS_RUN_DIR/prometheus.log" 2>&1 </dev/null) &
  echo $! >"$PROMETHEUS_RUN_DIR/pid"
  if ! wait_until 60 "Prometheus answering" prometheus_answers; then
    stop_pid "$(prometheus_pid)" 5
    die "prometheus: not answering; see $PROMETHEUS_RUN_DIR/prometheus.log"
  fi
  log "prometheus: ready after $((SECONDS - started))s (pid $(prometheus_pid))"
}

prometheus_stop() {
  local pid
  pid=$(prometheus_pid)
  if ! pid_alive "$pid"; then
    log "prometheus: not running"
    rm -f "$PROMETHEUS_RUN_DIR/pid" "$PROMETHEUS_RUN_DIR/port"
    return 0
  fi
  log "prometheus: stopping pid $pid"
  stop_pid "$pid" 20
  rm -f "$PROMETHEUS_RUN_DIR/pid" "$PROMETHEUS_RUN_DIR/port"
  log "prometheus: stopped"
}

# --- settings ------------------------------------------------------------------------------------

# The ASP.NET configuration keys the services read (double underscore = section separator). Ports come
# from the run folder, so a service that was already running on another port is described correctly.
write_settings() {
  local blobs azurite_port
  azurite_port=$(azurite_port)
  if [[ $azurite_port == 10000 ]]; then
    blobs='UseDevelopmentStorage=true'
  else
    blobs="DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$azurite_port/$AZURITE_ACCOUNT;"
  fi
  local settings
  settings=$(
    printf "export ConnectionStrings__Postgres='Host=127.0.0.1;Port=%s;Username=%s;Database=%s'\n" \
      "$(postgres_port)" "$POSTGRES_USER" "$POSTGRES_DATABASE"
    printf "export RabbitMq__Host='127.0.0.1'\n"
    printf "export RabbitMq__Port='%s'\n" "$(rabbitmq_port)"
    printf "export RabbitMq__Username='guest'\n"
    printf "export RabbitMq__Password='guest'\n"
    printf "export ConnectionStrings__Blobs='%s'\n" "$blobs"
    if [[ -r $PROMETHEUS_RUN_DIR/port ]]; then
      printf "export SEG_PROMETHEUS_URL='http://127.0.0.1:%s/'\n" "$(prometheus_port)"
      printf "export SEG_PROMETHEUS_DIR='%s'\n" "$PROMETHEUS_RUN_DIR"
    fi
  )
  printf '%s\n' "$settings" >"$RUN_DIR/env"
  printf '%s\n' "$settings"
}

# --- commands ------------------------------------------------------------------------------------

service_answers() {
  case $1 in
    rabbitmq) pid_alive "$(rabbitmq_pid)" && rabbitmq_answers ;;
    postgres) pid_alive "$(postgres_pid)" && postgres_answers ;;
    azurite) pid_alive "$(azurite_pid)" && azurite_answers ;;
    prometheus) pid_alive "$(prometheus_pid)" && prometheus_answers ;;
  esac
}

service_port() {
  case $1 in
    rabbitmq) rabbitmq_port ;;
    postgres) postgres_port ;;
    azurite) azurite_port ;;
    prometheus) prometheus_port ;;
  esac
}

service_pid() {
  case $1 in
    rabbitmq) rabbitmq_pid ;;
    postgres) postgres_pid ;;
    azurite) azurite_pid ;;
    prometheus) prometheus_pid ;;
  esac
}

status() {
  local service down=0
  for service in "$@"; do
    if service_answers "$service"; then
      printf '%-9s up    127.0.0.1:%s pid %s\n' "$service" "$(service_port "$service")" "$(service_pid "$service")"
    else
      printf '%-9s down\n' "$service"
      down=1
    fi
  done
  return "$down"
}

usage() {
  echo "usage: $0 start [--keep-data]|stop|status [rabbitmq|postgres|azurite|prometheus ...]" >&2
  exit 2
}

main() {
  (($# >= 1)) || usage
  local command=$1 service
  shift
  if [[ ${1:-} == --keep-data ]]; then
    [[ $command == start ]] || die "--keep-data goes with start"
    KEEP_DATA=true
    shift
  fi
  local services=("$@")
  ((${#services[@]} > 0)) || services=("${ALL_SERVICES[@]}")
  for service in "${services[@]}"; do
    case $service in
      rabbitmq | postgres | azurite | prometheus) ;;
      *) die "unknown service '$service' (expected rabbitmq, postgres, azurite or prometheus)" ;;
    esac
  done

  mkdir -p "$RUN_DIR"
  # The services run as their own users and must reach their folders inside.
  chmod 755 "$RUN_DIR"
  case $command in
    start)
      for service in "${services[@]}"; do "${service}_start"; done
      write_settings
      ;;
    stop)
      for service in "${services[@]}"; do "${service}_stop"; done
      ;;
    status)
      status "${services[@]}"
      ;;
    *) usage ;;
  esac
}

main "$@"
