# shellcheck shell=bash
# shellcheck disable=SC2034 # TEMP_WORK is used by the scripts that source this (their exit traps)
# What ecs-awscli.sh and ecs-deploy-flow.sh share: settings from the environment (see either script's
# header), a work directory, and the helpers they call. Sourced after `set -euo pipefail`, with
# SCRIPT_TAG set to the name the log lines carry.

: "${ECS_ENDPOINT:?ECS_ENDPOINT: the ECS endpoint, https://HOST:PORT}"
AWS_CLI=${AWS_CLI:-/usr/bin/aws}
IMAGE=${IMAGE:-berth-test/busybox:1}
CLUSTER=${CLUSTER:-default}
WAIT_TIMEOUT=${WAIT_TIMEOUT:-300}
PYTHON=${PYTHON:-python3}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-local}
export AWS_PAGER=""
export IMAGE
FIXTURES=${FIXTURES:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/ecs" && pwd)}
TEMP_WORK=''
if [[ -z "${WORK_DIR:-}" ]]; then
  WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/${SCRIPT_TAG}.XXXXXX")
  TEMP_WORK=$WORK_DIR
fi
mkdir -p "$WORK_DIR"

STARTED=$SECONDS
log() { printf '[%s +%3ds] %s\n' "$SCRIPT_TAG" "$((SECONDS - STARTED))" "$*"; }
fail() { printf '[%s +%3ds] FAIL: %s\n' "$SCRIPT_TAG" "$((SECONDS - STARTED))" "$*" >&2; exit 1; }
# Every call: the endpoint, JSON unless the call asks for text, bounded connect/read.
ecs() { "$AWS_CLI" --endpoint-url "$ECS_ENDPOINT" --cli-connect-timeout 10 --cli-read-timeout 60 ecs "$@"; }
# A CLI waiter, bounded (the CLI's own limits are 10 min for the services waiters).
wait_for() {
  local what=$1; shift
  local t0=$SECONDS
  if ! timeout "$WAIT_TIMEOUT" "$AWS_CLI" --endpoint-url "$ECS_ENDPOINT" ecs wait "$what" --cluster "$CLUSTER" "$@"; then
    fail "aws ecs wait $what $* did not succeed within ${WAIT_TIMEOUT}s"
  fi
  log "wait $what: ok after $((SECONDS - t0))s"
}
expect() { # expect WHAT ACTUAL WANTED
  [[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"
  log "$1: $2"
}
# A fixture with the image filled in.
render() { sed "s|@IMAGE@|$IMAGE|g" "$FIXTURES/$1" > "$WORK_DIR/$1"; echo "$WORK_DIR/$1"; }
