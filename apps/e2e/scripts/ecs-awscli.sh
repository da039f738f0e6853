#!/usr/bin/env bash
# The AWS CLI against Berth's ECS endpoint, as a user drives ECS with it:
# task definitions registered from JSON files with --cli-input-json (also from
# the whole output of describe-task-definition), a task run and stopped with
# `wait tasks-running` / `wait tasks-stopped`, a service created, updated to a
# new revision, scaled and deleted with `wait services-stable` /
# `wait services-inactive`. Exits non-zero at the first thing that is not as
# ECS would have it.
#
# Environment:
#   ECS_ENDPOINT           https://HOST:PORT of the ECS endpoint (required: AWS CLI 2.9.19 reads
#                          neither endpoint_url from a profile nor AWS_ENDPOINT_URL_ECS, so every call
#                          passes --endpoint-url)
#   AWS_CA_BUNDLE          the cluster CA (the endpoint's TLS certificate is signed by it)
#   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   an admin or operator key (`berth apitoken create NAME --aws`),
#                          or AWS_PROFILE naming a profile from `berth aws-profile`
#   AWS_DEFAULT_REGION     default: local
#   IMAGE                  the container image (default: berth-test/busybox:1)
#   AWS_CLI                default: /usr/bin/aws (Debian's awscli 2.9.19; a newer `aws` may be first on PATH)
#   CLUSTER                default: default
#   WAIT_TIMEOUT           seconds any one CLI waiter may take (default 300; services-stable alone would
#                          poll every 15 s for up to 10 minutes)
#   WORK_DIR               where rendered JSON goes (default: a temporary directory, removed at exit)
#
# Needs bash, coreutils (timeout) and python3 (for the JSON surgery the CLI cannot do; no jq).
# shellcheck disable=SC2016 # the backticks in --query strings are JMESPath literals, not command substitution
set -euo pipefail

SCRIPT_TAG=ecs-awscli
# shellcheck source=ecs-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ecs-common.sh"
SERVICE=awscli-web
SERVICE_CREATED=0
# On a failure, the service goes (best effort), so a rerun against the same cluster starts clean.
on_exit() {
  local rc=$?
  if ((rc != 0 && SERVICE_CREATED)); then ecs delete-service --cluster "$CLUSTER" --service "$SERVICE" --force --query service.status --output text >/dev/null 2>&1 || true; fi
  [[ -z "$TEMP_WORK" ]] || rm -rf "$TEMP_WORK"
  return "$rc"
}
trap on_exit EXIT

# Polls `describe-services --query Q --output text` until it prints WANTED (bounded).
poll_service() { # poll_service SERVICE QUERY WANTED SECONDS
  local deadline=$((SECONDS + $4)) got=''
  while ((SECONDS < deadline)); do
    got=$(ecs describe-services --cluster "$CLUSTER" --services "$1" --query "$2" --output text)
    [[ "$got" == "$3" ]] && { log "$1: $2 = $got"; return 0; }
    sleep 2
  done
  fail "$1: $2 is '$got' after $4s, want '$3'"
}

log "AWS CLI: $("$AWS_CLI" --version 2>&1); endpoint $ECS_ENDPOINT; image $IMAGE"

# ---------------------------------------------------------------- reach the endpoint
expect 'list-clusters names the cluster' \
  "$(ecs list-clusters --query "length(clusterArns[?ends_with(@, '/$CLUSTER')])" --output text)" 1
expect 'describe-clusters' "$(ecs describe-clusters --clusters "$CLUSTER" --query 'clusters[0].status' --output text)" ACTIVE
[[ "$(ecs list-container-instances --cluster "$CLUSTER" --query 'length(containerInstanceArns)' --output text)" -ge 1 ]] || fail 'no container instance in the cluster'

# ---------------------------------------------------------------- task definitions from files
SLEEPER=$(ecs register-task-definition --cli-input-json "file://$(render awscli-sleeper.json)" --query taskDefinition.taskDefinitionArn --output text)
log "registered $SLEEPER"
expect 'tags come back with the registration' \
  "$(ecs describe-task-definition --task-definition "$SLEEPER" --include TAGS --query 'tags[?key==`suite`].value | [0]' --output text)" ecs-awscli
expect 'container definition as written' \
  "$(ecs describe-task-definition --task-definition "$SLEEPER" --query 'taskDefinition.containerDefinitions[0].[image,memory,stopTimeout,linuxParameters.initProcessEnabled,join(`,`, command)]' --output text)" \
  "$(printf '%s\t16\t2\tTrue\tsleep,3600' "$IMAGE")"

# ---------------------------------------------------------------- the whole describe-task-definition output
# What AWS CLI 2.9.19 does with it (found by trying; the probes below log it on every run):
#  - `register-task-definition --cli-input-json file://<whole describe output>` is refused before any
#    request, exit 252: 'Unknown parameter in input: "taskDefinition"' (plus family and
#    containerDefinitions missing). The CLI validates the input against RegisterTaskDefinitionRequest.
#  - Only its `.taskDefinition` member (`--query taskDefinition`): still exit 252, 'Unknown parameter in
#    input' for each read-only member: taskDefinitionArn, revision, status, requiresAttributes,
#    compatibilities, registeredAt (and registeredBy / deregisteredAt where present).
#  - With `parameter_validation = false` (in a throwaway AWS_CONFIG_FILE) the check is skipped but
#    botocore's serializer then fails on the first member the input shape lacks: exit 255,
#    "KeyError: 'taskDefinition'" / "KeyError: 'taskDefinitionArn'". Nothing reaches the endpoint.
#  - A JMESPath projection (`--query '{family: taskDefinition.family, ...}'`) cannot drop absent
#    members: they come out as null, and null fails validation ("Invalid type for parameter
#    volumes, value: None").
# So the read-only members have to be removed from the JSON: below with python3, keeping exactly the
# members of the CLI's own input skeleton (`--generate-cli-skeleton input`) and the response's tags.
ecs describe-task-definition --task-definition "$SLEEPER" --include TAGS --output json > "$WORK_DIR/described.json"
probe() { # probe WHAT COMMAND...: a registration the CLI is expected to refuse; logs how.
  local what=$1 out rc; shift
  set +e; out=$("$@" 2>&1); rc=$?; set -e
  log "probe ($what): exit $rc: $(printf '%s' "$out" | tr -s '\n' ' ' | cut -c1-200)"
}
probe 'whole output' ecs register-task-definition --cli-input-json "file://$WORK_DIR/described.json" --query taskDefinition.taskDefinitionArn --output text
ecs describe-task-definition --task-definition "$SLEEPER" --query taskDefinition --output json > "$WORK_DIR/described-td.json"
probe '.taskDefinition' ecs register-task-definition --cli-input-json "file://$WORK_DIR/described-td.json" --query taskDefinition.taskDefinitionArn --output text
printf '[default]\nparameter_validation = false\n' > "$WORK_DIR/no-validation.config"
probe 'whole output, parameter_validation=false' env AWS_CONFIG_FILE="$WORK_DIR/no-validation.config" \
  "$AWS_CLI" --endpoint-url "$ECS_ENDPOINT" ecs register-task-definition --cli-input-json "file://$WORK_DIR/described.json" --query taskDefinition.taskDefinitionArn --output text

"$AWS_CLI" ecs register-task-definition --generate-cli-skeleton input > "$WORK_DIR/skeleton.json"
"$PYTHON" - "$WORK_DIR/described.json" "$WORK_DIR/skeleton.json" "$WORK_DIR/reregister.json" <<'PY'
import json, sys
described, skeleton, out = sys.argv[1:4]
whole = json.load(open(described))
allowed = set(json.load(open(skeleton)))
td = whole["taskDefinition"]
dropped = sorted(k for k in td if k not in allowed)
body = {k: v for k, v in td.items() if k in allowed}
if whole.get("tags"):
    body["tags"] = whole["tags"]
json.dump(body, open(out, "w"), indent=2)
print(f"[ecs-awscli] read-only members dropped: {', '.join(dropped)}")
PY
AGAIN=$(ecs register-task-definition --cli-input-json "file://$WORK_DIR/reregister.json" --query taskDefinition.taskDefinitionArn --output text)
log "registered $AGAIN from the describe-task-definition output"
[[ "$AGAIN" != "$SLEEPER" && "${AGAIN%:*}" == "${SLEEPER%:*}" ]] || fail "re-registration gave $AGAIN (from $SLEEPER): want the next revision of the family"
same_q='taskDefinition.[containerDefinitions, networkMode, requiresCompatibilities, volumes, placementConstraints, cpu, memory]'
[[ "$(ecs describe-task-definition --task-definition "$SLEEPER" --query "$same_q" --output json)" == "$(ecs describe-task-definition --task-definition "$AGAIN" --query "$same_q" --output json)" ]] \
  || fail "the revision registered from describe output differs from $SLEEPER"
expect 'tags kept through the round trip' \
  "$(ecs describe-task-definition --task-definition "$AGAIN" --include TAGS --query 'tags[?key==`suite`].value | [0]' --output text)" ecs-awscli

# ---------------------------------------------------------------- a task: run, wait running, stop, wait stopped
TASK=$(ecs run-task --cluster "$CLUSTER" --task-definition "$AGAIN" --count 1 --started-by ecs-awscli \
  --overrides '{"containerOverrides":[{"name":"app","environment":[{"name":"OVERRIDDEN","value":"yes"}]}]}' \
  --query 'tasks[0].taskArn' --output text)
[[ "$TASK" == arn:*:task/* ]] || fail "run-task gave no task ARN: $TASK"
log "ran $TASK"
wait_for tasks-running --tasks "$TASK"
expect 'task running' "$(ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].[lastStatus,desiredStatus,containers[0].lastStatus,taskDefinitionArn,startedBy]' --output text)" \
  "$(printf 'RUNNING\tRUNNING\tRUNNING\t%s\tecs-awscli' "$AGAIN")"
expect 'the override is kept' "$(ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].overrides.containerOverrides[0].environment[0].value' --output text)" yes
expect 'list-tasks --started-by' "$(ecs list-tasks --cluster "$CLUSTER" --started-by ecs-awscli --query "length(taskArns[?@ == '$TASK'])" --output text)" 1
expect 'stop-task' "$(ecs stop-task --cluster "$CLUSTER" --task "$TASK" --reason 'ecs-awscli: done' --query 'task.desiredStatus' --output text)" STOPPED
wait_for tasks-stopped --tasks "$TASK"
expect 'task stopped' "$(ecs describe-tasks --cluster "$CLUSTER" --tasks "$TASK" --query 'tasks[0].[lastStatus,stopCode,stoppedReason]' --output text)" \
  "$(printf 'STOPPED\tUserInitiated\tecs-awscli: done')"

# ---------------------------------------------------------------- a service: create, update, scale, delete
WEB1=$(ecs register-task-definition --cli-input-json "file://$(render awscli-web-v1.json)" --query taskDefinition.taskDefinitionArn --output text)
WEB2=$(ecs register-task-definition --cli-input-json "file://$(render awscli-web-v2.json)" --query taskDefinition.taskDefinitionArn --output text)
log "registered $WEB1 and $WEB2"
expect 'create-service' "$(ecs create-service --cluster "$CLUSTER" --service-name "$SERVICE" --task-definition "$WEB1" --desired-count 2 \
  --deployment-configuration 'minimumHealthyPercent=50,maximumPercent=200' \
  --query 'service.[status,desiredCount,length(deployments)]' --output text)" "$(printf 'ACTIVE\t2\t1')"
SERVICE_CREATED=1
wait_for services-stable --services "$SERVICE"
expect 'running on revision 1' "$(ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query 'services[0].[runningCount,taskDefinition]' --output text)" "$(printf '2\t%s' "$WEB1")"
# The waiter looks at counts only (one deployment, runningCount == desiredCount): the rollout may be
# marked COMPLETED a moment later, as on ECS.
poll_service "$SERVICE" 'services[0].deployments[0].rolloutState' COMPLETED 60

expect 'update-service to revision 2' "$(ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --task-definition "$WEB2" \
  --query 'service.deployments[?status==`PRIMARY`].taskDefinition | [0]' --output text)" "$WEB2"
wait_for services-stable --services "$SERVICE"
expect 'one deployment, on revision 2' "$(ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query 'services[0].[length(deployments),deployments[0].taskDefinition,runningCount,taskDefinition]' --output text)" \
  "$(printf '1\t%s\t2\t%s' "$WEB2" "$WEB2")"
poll_service "$SERVICE" 'services[0].deployments[0].rolloutState' COMPLETED 60
read -r -a TASKS <<< "$(ecs list-tasks --cluster "$CLUSTER" --service-name "$SERVICE" --query 'taskArns' --output text)"
expect 'the service tasks run revision 2' "$(ecs describe-tasks --cluster "$CLUSTER" --tasks "${TASKS[@]}" --query 'join(`,`, sort(tasks[].[taskDefinitionArn,lastStatus][]))' --output text)" \
  "$(printf 'RUNNING,RUNNING,%s,%s' "$WEB2" "$WEB2")"

expect 'scale to 3' "$(ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --desired-count 3 --query 'service.desiredCount' --output text)" 3
wait_for services-stable --services "$SERVICE"
expect 'three running' "$(ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query 'services[0].[runningCount,length(deployments)]' --output text)" "$(printf '3\t1')"
expect 'scale to 1' "$(ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --desired-count 1 --query 'service.desiredCount' --output text)" 1
wait_for services-stable --services "$SERVICE"
expect 'one running' "$(ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query 'services[0].runningCount' --output text)" 1

expect 'delete-service' "$(ecs delete-service --cluster "$CLUSTER" --service "$SERVICE" --force --query 'service.status' --output text)" DRAINING
wait_for services-inactive --services "$SERVICE"
expect 'service inactive' "$(ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" --query 'services[0].[status,desiredCount]' --output text)" "$(printf 'INACTIVE\t0')"
deadline=$((SECONDS + 60))
until [[ "$(ecs list-tasks --cluster "$CLUSTER" --service-name "$SERVICE" --query 'length(taskArns)' --output text)" == 0 ]]; do
  ((SECONDS < deadline)) || fail "tasks of the deleted service still listed after 60s"
  sleep 2
done
log 'no task of the deleted service left'

# ---------------------------------------------------------------- deregister what this script registered
for td in "$SLEEPER" "$AGAIN" "$WEB1" "$WEB2"; do
  expect "deregister $td" "$(ecs deregister-task-definition --task-definition "$td" --query 'taskDefinition.status' --output text)" INACTIVE
done
expect 'deregistered revisions no longer listed as ACTIVE' \
  "$(ecs list-task-definitions --family-prefix awscli-web --status ACTIVE --query "length(taskDefinitionArns[?@ == '$WEB1' || @ == '$WEB2'])" --output text)" 0
expect 'but listed as INACTIVE' \
  "$(ecs list-task-definitions --family-prefix awscli-web --status INACTIVE --query "length(taskDefinitionArns[?@ == '$WEB1' || @ == '$WEB2'])" --output text)" 2

log "ok: all steps passed in $((SECONDS - STARTED))s"
