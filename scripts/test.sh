#!/usr/bin/env bash
# The project's test command (also what CI runs through .ci/run):
#   1. builds Seg.sln once,
#   2. starts RabbitMQ, PostgreSQL and Azurite on loopback (infra/dev-services.sh) and stops them at the end,
#   3. runs every test project of the solution with a TRX logger,
#   4. prints, as the very last line, `N passed, N failed` counted from the TRX files.
# A test that did not pass (failed, error, timeout, aborted, not executed, skipped) counts as failed; so do,
# once each, a failed build, an aborted test run (crashed or hung test host) and a project without results.
# The exit code is non-zero when the build fails, a test does not pass, a test project leaves no results,
# or no test ran at all. Extra arguments go to every `dotnet test` call, e.g. --filter "FullyQualifiedName~Blur".
#
# Environment: SEG_TEST_CONFIGURATION (Release), SEG_TEST_RESULTS_DIR (TestResults/run),
# SEG_TEST_SERVICES (1; 0 runs without the services), SEG_TEST_TIMEOUT_MINUTES (80, for build + tests),
# SEG_TEST_HANG_MINUTES (15; a test silent that long aborts its project's run; 0 = never),
# and dev-services.sh's SEG_SERVICES_DIR and SEG_*_PORT.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT=$PWD
CONFIGURATION=${SEG_TEST_CONFIGURATION:-Release}
RESULTS_DIR=${SEG_TEST_RESULTS_DIR:-$REPO_ROOT/TestResults/run}
USE_SERVICES=${SEG_TEST_SERVICES:-1}
SERVICES_DIR=${SEG_SERVICES_DIR:-/tmp/seg-services}
HANG_MINUTES=${SEG_TEST_HANG_MINUTES:-15}
DEADLINE=$((SECONDS + ${SEG_TEST_TIMEOUT_MINUTES:-80} * 60))
# English messages: the abort detection below reads the test platform's text.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_UI_LANGUAGE=en

log() { printf '[test] %s\n' "$*" >&2; }

# --- services and signals ------------------------------------------------------------------------

SERVICES_STARTED_HERE=false
CHILD_PID=

stop_services() {
  if [[ $SERVICES_STARTED_HERE == true ]]; then
    SERVICES_STARTED_HERE=false
    bash infra/dev-services.sh stop || log "warning: stopping the services failed"
  fi
}

# shellcheck disable=SC2317 # called by the trap below
on_signal() {
  log "interrupted"
  if [[ -n $CHILD_PID ]]; then
    kill -TERM "$CHILD_PID" 2>/dev/null || true
    wait "$CHILD_PID" 2>/dev/null || true
  fi
  exit 130
}

trap stop_services EXIT
trap on_signal INT TERM

# run_limited COMMAND...: runs COMMAND with the time left before the deadline. In the background and
# waited for, so that INT/TERM reach the trap at once instead of after the command ends; timeout kills the
# command's whole process group (test hosts included) when the time is up.
run_limited() {
  local left=$((DEADLINE - SECONDS))
  if ((left <= 0)); then
    log "error: out of time (SEG_TEST_TIMEOUT_MINUTES=${SEG_TEST_TIMEOUT_MINUTES:-80})"
    return 124
  fi
  timeout --kill-after=30 "$left" "$@" &
  CHILD_PID=$!
  local status=0
  wait "$CHILD_PID" || status=$?
  CHILD_PID=
  if ((status == 124)); then log "error: timed out: $*"; fi
  return "$status"
}

# --- results -------------------------------------------------------------------------------------

# counter NAME COUNTERS_ELEMENT: one attribute of a TRX <Counters .../> element (0 when absent).
counter() {
  local value
  value=$(sed -n "s/.*[[:space:]]$1=\"\([0-9][0-9]*\)\".*/\1/p" <<<"$2")
  echo "${value:-0}"
}

TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_EXECUTED=0

# add_results PROJECT_NAME TRX_FILE: adds the file's counters to the totals; false when unreadable or
# when the run was aborted.
add_results() {
  local name=$1 trx=$2 flat counters total executed passed failed errors
  # One line per file first: elements may be wrapped over several lines.
  flat=$(tr '\r\n' '  ' <"$trx")
  counters=$(grep -o '<Counters[[:space:]][^>]*>' <<<"$flat" | head -n 1) || true
  if [[ -z $counters ]]; then
    log "error: $name: no <Counters> element in $trx"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    return 1
  fi
  total=$(counter total "$counters")
  executed=$(counter executed "$counters")
  passed=$(counter passed "$counters")
  # Everything in the total that did not pass: failed, error, timeout, aborted, inconclusive,
  # not executed (skipped), ... — a skipped test is a failure for this project.
  failed=$((total - passed))
  log "$name: $total tests, $executed executed, $passed passed, $failed not passed"
  TOTAL_PASSED=$((TOTAL_PASSED + passed))
  TOTAL_FAILED=$((TOTAL_FAILED + failed))
  TOTAL_EXECUTED=$((TOTAL_EXECUTED + executed))
  # An aborted run (test host crashed or hung) leaves the culprit out of the counters: count it once.
  errors=$(grep -o '<RunInfo[^>]*outcome="Error"[^>]*>[[:space:]]*<Text>[^<]*' <<<"$flat" | sed 's/.*<Text>//' |
    grep 'test run was aborted') || true
  if [[ -n $errors ]]; then
    log "error: $name: the test run was aborted: $errors"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    return 1
  fi
}

# The solution's test projects: those that reference the test SDK or follow the *.Tests naming.
test_projects() {
  local project
  dotnet sln Seg.sln list | while IFS= read -r project; do
    project=${project//\\//}
    [[ $project == *.csproj && -f $project ]] || continue
    if [[ $project == *Tests.csproj ]] || grep -q 'Microsoft.NET.Test.Sdk' "$project"; then
      echo "$project"
    fi
  done
}

summary_and_exit() {
  local status=$1
  stop_services
  echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
  exit "$status"
}

# --- main ----------------------------------------------------------------------------------------

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

log "building Seg.sln ($CONFIGURATION)"
# NumPy (Debian's python3-numpy) lets the tests check that our .npy files load where users load them.
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  log "installing python3-numpy (Debian) for the .npy tests"
  if ! { apt-get install -y -q python3-numpy >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q python3-numpy >/dev/null 2>&1; }; }; then
    log "warning: python3-numpy could not be installed; the .npy test will fail"
  fi
fi

# Debian's chromium drives the browser tests (Microsoft.Playwright launches it by path; no browser download).
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (Debian) for the browser tests"
  if ! { apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; }; }; then
    log "warning: chromium could not be installed; the browser tests will fail"
  fi
fi

if ! run_limited dotnet build Seg.sln -c "$CONFIGURATION" -nologo; then
  log "error: the build failed; no test ran (counted as one failed test)"
  TOTAL_FAILED=1
  summary_and_exit 1
fi

if [[ $USE_SERVICES != 0 ]]; then
  if bash infra/dev-services.sh status >/dev/null 2>&1; then
    log "services already running: using them and leaving them running"
  else
    SERVICES_STARTED_HERE=true
    bash infra/dev-services.sh start >/dev/null || {
      log "error: the services did not start"
      summary_and_exit 1
    }
  fi
  # shellcheck source=/dev/null
  source "$SERVICES_DIR/env"
fi

mapfile -t projects < <(test_projects)
if ((${#projects[@]} == 0)); then
  log "error: Seg.sln has no test project"
  summary_and_exit 1
fi

# A test silent for this long is stopped (its project's run is aborted and the hung test named), so
# that one hang does not eat the time of the other projects.
hang_args=()
if ((HANG_MINUTES > 0)); then
  hang_args=(--blame-hang-timeout "${HANG_MINUTES}m" --blame-hang-dump-type none)
fi

status=0
for project in "${projects[@]}"; do
  name=$(basename "$project" .csproj)
  trx=$RESULTS_DIR/$name.trx
  log "testing $name"
  test_status=0
  run_limited dotnet test "$project" --no-build -c "$CONFIGURATION" --results-directory "$RESULTS_DIR" \
    --logger "trx;LogFileName=$name.trx" "${hang_args[@]}" "$@" || test_status=$?
  if [[ ! -f $trx ]]; then
    log "error: $name left no results ($trx), dotnet test exit code $test_status; counted as one failed test"
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    status=1
    continue
  fi
  add_results "$name" "$trx" || status=1
  if ((test_status != 0)); then
    log "$name: dotnet test exit code $test_status"
    status=1
  fi
done

if ((TOTAL_FAILED > 0)); then
  status=1
fi
if ((TOTAL_EXECUTED == 0)); then
  log "error: no test was executed; an empty run does not pass"
  status=1
fi
log "results in $RESULTS_DIR"
summary_and_exit "$status"
