#!/usr/bin/env bash
# The deploy flow CI tools for ECS run (aws-actions/amazon-ecs-deploy-task-definition, ecs-deploy,
# hand-written pipelines), with the AWS CLI against Berth's ECS endpoint:
#
#   1. describe-services: the service's task definition and its PRIMARY deployment
#   2. describe-task-definition of it (the whole output, --include TAGS)
#   3. register-task-definition of a new revision made from that output (new image/environment)
#   4. update-service --task-definition NEW; note the new PRIMARY deployment id
#   5. wait services-stable
#   6. check the PRIMARY deployment: still ours and rolloutState COMPLETED (else failed/rolled back)
#   7. deregister-task-definition of the old revision (only on success)
#
# First with a good revision (must succeed), then with a broken one (its container exits at once) on a
# service with the deployment circuit breaker and rollback on: the deployment must fail and the
# service return to the previous revision, visible through the same calls (describe-services,
# describe-tasks, the service events) and through list-service-deployments /
# describe-service-deployments (status ROLLBACK_SUCCESSFUL, circuit breaker TRIGGERED).
#
# Environment: as ecs-awscli.sh (ECS_ENDPOINT required; AWS_CA_BUNDLE, AWS_ACCESS_KEY_ID /
# AWS_SECRET_ACCESS_KEY or AWS_PROFILE, AWS_DEFAULT_REGION=local, IMAGE, AWS_CLI=/usr/bin/aws,
# CLUSTER=default, WAIT_TIMEOUT=300, WORK_DIR), and
#   SERVICE                the service to create and deploy (default: deploy-app; deleted at the end)
#   DEPLOY_TIMEOUT         seconds the broken deployment may take to fail and roll back (default 240)
#   ECS_SERVICE_DEPLOYMENTS_MODEL   a botocore ECS model with ListServiceDeployments and
#                          DescribeServiceDeployments, for a CLI older than those operations (AWS CLI
#                          2.9.19 is; default: fixtures/ecs/botocore-ecs-service-deployments.json, a subset
#                          of botocore's ecs/2014-11-13/service-2.json, Apache-2.0). Loaded with
#                          AWS_DATA_PATH for those two calls only.
#
# Needs bash, coreutils (timeout) and python3 (the JSON surgery of step 3; no jq).
# shellcheck disable=SC2016 # the backticks in --query strings are JMESPath literals, not command substitution
set -euo pipefail

SCRIPT_TAG=deploy-flow
# shellcheck source=ecs-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/ecs-common.sh"
SERVICE=${SERVICE:-deploy-app}
DEPLOY_TIMEOUT=${DEPLOY_TIMEOUT:-240}
svc() { ecs describe-services --cluster "$CLUSTER" --services "$SERVICE" "$@"; }

SERVICE_CREATED=0
on_exit() {
  local rc=$?
  if ((rc != 0)); then
    log "service at the failure:"
    svc --query 'services[0].{status: status, desired: desiredCount, running: runningCount, taskDefinition: taskDefinition, deployments: deployments[].[id, status, taskDefinition, rolloutState, rolloutStateReason, failedTasks, runningCount], events: events[:12].message}' --output json 2>&1 || true
    if ((SERVICE_CREATED)); then ecs delete-service --cluster "$CLUSTER" --service "$SERVICE" --force --query service.status --output text >/dev/null 2>&1 || true; fi
  fi
  [[ -z "$TEMP_WORK" ]] || rm -rf "$TEMP_WORK"
  return "$rc"
}
trap on_exit EXIT

# The register input made from describe-task-definition output. AWS CLI 2.9.19 will not take that
# output as it is (ecs-awscli.sh shows how it refuses it: client-side validation, exit 252; with
# parameter_validation=false a KeyError in the serializer, exit 255): keep the members of the CLI's own
# RegisterTaskDefinition input skeleton, add the response's tags, then apply EDIT (python, on `td`).
"$AWS_CLI" ecs register-task-definition --generate-cli-skeleton input > "$WORK_DIR/skeleton.json"
next_revision_input() { # next_revision_input DESCRIBED OUT EDIT
  "$PYTHON" - "$WORK_DIR/skeleton.json" "$@" <<'PY'
import json, os, sys
skeleton, described, out, edit = sys.argv[1:5]
allowed = set(json.load(open(skeleton)))
whole = json.load(open(described))
td = {k: v for k, v in whole["taskDefinition"].items() if k in allowed}
if whole.get("tags"):
    td["tags"] = whole["tags"]
exec(edit, {"td": td, "os": os})
json.dump(td, open(out, "w"), indent=2)
PY
}

# Steps 1-4. Sets OLD_TD, NEW_TD, BEFORE_ID (the PRIMARY deployment before), DEPLOYMENT_ID (ours).
start_deploy() { # start_deploy LABEL EDIT
  local label=$1 edit=$2
  read -r OLD_TD BEFORE_ID <<< "$(svc --query 'services[0].[taskDefinition, deployments[?status==`PRIMARY`].id | [0]]' --output text)"
  log "$label: the service runs $OLD_TD (deployment $BEFORE_ID)"
  ecs describe-task-definition --task-definition "$OLD_TD" --include TAGS --output json > "$WORK_DIR/$label-described.json"
  next_revision_input "$WORK_DIR/$label-described.json" "$WORK_DIR/$label-register.json" "$edit"
  NEW_TD=$(ecs register-task-definition --cli-input-json "file://$WORK_DIR/$label-register.json" --query taskDefinition.taskDefinitionArn --output text)
  [[ "${NEW_TD%:*}" == "${OLD_TD%:*}" && "$NEW_TD" != "$OLD_TD" ]] || fail "$label: registered $NEW_TD, want a new revision of ${OLD_TD%:*}"
  DEPLOYMENT_ID=$(ecs update-service --cluster "$CLUSTER" --service "$SERVICE" --task-definition "$NEW_TD" \
    --query 'service.deployments[?status==`PRIMARY`].id | [0]' --output text)
  [[ "$DEPLOYMENT_ID" == ecs-svc/* && "$DEPLOYMENT_ID" != "$BEFORE_ID" ]] || fail "$label: update-service gave PRIMARY deployment '$DEPLOYMENT_ID' (was $BEFORE_ID)"
  log "$label: registered $NEW_TD; update-service started deployment $DEPLOYMENT_ID"
}

# Step 6, after the waiter: what became of our deployment. Sets OUTCOME to COMPLETED, FAILED or
# ROLLED_BACK (the PRIMARY deployment is another one: the circuit breaker replaced ours; on ECS the
# failed one may still be listed with rolloutState FAILED, or already gone).
# services-stable only counts tasks (one deployment, runningCount == desiredCount): the PRIMARY's
# rolloutState may still read IN_PROGRESS for a moment, as on ECS, so it is polled (bounded).
deployment_outcome() {
  local deadline=$((SECONDS + 60)) primary
  while :; do
    primary=$(svc --query 'services[0].deployments[?status==`PRIMARY`] | [0].[id, taskDefinition, rolloutState]' --output text)
    read -r P_ID P_TD P_STATE <<< "$primary"
    if [[ "$P_ID" != "$DEPLOYMENT_ID" ]]; then
      OUTCOME=ROLLED_BACK
      OURS_STATE=$(svc --query "services[0].deployments[?id=='$DEPLOYMENT_ID'].rolloutState | [0]" --output text)
      log "PRIMARY is $P_ID ($P_TD, $P_STATE), not ours; ours ($DEPLOYMENT_ID) is listed as: $OURS_STATE"
      return 0
    fi
    case "$P_STATE" in
      COMPLETED | FAILED) OUTCOME=$P_STATE; log "PRIMARY is ours, rolloutState $P_STATE"; return 0 ;;
    esac
    ((SECONDS < deadline)) || fail "PRIMARY deployment $P_ID still $P_STATE 60s after the service was stable"
    sleep 2
  done
}

log "AWS CLI: $("$AWS_CLI" --version 2>&1); endpoint $ECS_ENDPOINT; service $SERVICE; image $IMAGE"

# ---------------------------------------------------------------- the service to deploy to
sed "s|@IMAGE@|$IMAGE|g" "$FIXTURES/deploy-app.json" > "$WORK_DIR/deploy-app.json"
FIRST_TD=$(ecs register-task-definition --cli-input-json "file://$WORK_DIR/deploy-app.json" --query taskDefinition.taskDefinitionArn --output text)
expect 'create-service with the circuit breaker' "$(ecs create-service --cluster "$CLUSTER" --service-name "$SERVICE" --task-definition "$FIRST_TD" --desired-count 2 \
  --deployment-configuration 'maximumPercent=200,minimumHealthyPercent=50,deploymentCircuitBreaker={enable=true,rollback=true}' \
  --query 'service.[status, deploymentConfiguration.deploymentCircuitBreaker.enable, deploymentConfiguration.deploymentCircuitBreaker.rollback]' --output text)" \
  "$(printf 'ACTIVE\tTrue\tTrue')"
SERVICE_CREATED=1
wait_for services-stable --services "$SERVICE"
DEPLOYMENT_ID=$(svc --query 'services[0].deployments[0].id' --output text)
deployment_outcome
expect 'first deployment' "$OUTCOME" COMPLETED

# ---------------------------------------------------------------- a good revision: the flow succeeds
start_deploy good 'c = td["containerDefinitions"][0]; c["image"] = os.environ["IMAGE"]; c["environment"] = [{"name": "RELEASE", "value": "2"}]'
GOOD_OLD=$OLD_TD GOOD_TD=$NEW_TD GOOD_ID=$DEPLOYMENT_ID
wait_for services-stable --services "$SERVICE"
deployment_outcome
[[ "$OUTCOME" == COMPLETED ]] || fail "good revision: deployment $DEPLOYMENT_ID ended $OUTCOME"
expect 'service on the new revision' "$(svc --query 'services[0].[taskDefinition, runningCount, length(deployments)]' --output text)" "$(printf '%s\t2\t1' "$GOOD_TD")"
read -r -a TASKS <<< "$(ecs list-tasks --cluster "$CLUSTER" --service-name "$SERVICE" --query taskArns --output text)"
expect 'its tasks run the new revision' \
  "$(ecs describe-tasks --cluster "$CLUSTER" --tasks "${TASKS[@]}" --query 'join(`,`, tasks[].[taskDefinitionArn, containers[0].lastStatus][])' --output text)" \
  "$(printf '%s,RUNNING,%s,RUNNING' "$GOOD_TD" "$GOOD_TD")"
# Step 7: the old revision goes.
expect "deregister $GOOD_OLD" "$(ecs deregister-task-definition --task-definition "$GOOD_OLD" --query taskDefinition.status --output text)" INACTIVE
expect 'the old revision is INACTIVE' "$(ecs describe-task-definition --task-definition "$GOOD_OLD" --query taskDefinition.status --output text)" INACTIVE

# ---------------------------------------------------------------- a broken revision: FAILED, rolled back
start_deploy broken 'td["containerDefinitions"][0]["command"] = ["sh", "-c", "exit 3"]'
BROKEN_TD=$NEW_TD BROKEN_ID=$DEPLOYMENT_ID
# Watch describe-services (bounded) until the circuit breaker has failed our deployment and a new
# PRIMARY deployment rolls back to the previous task definition. Our deployment, once failed, shows
# rolloutState FAILED for as long as it is listed; it may already be gone when the poll looks (it has
# no task left), so seeing FAILED here is logged, not required; the service deployment record and the
# events below are the lasting evidence.
deadline=$((SECONDS + DEPLOY_TIMEOUT)) SAW_FAILED=no last=''
while :; do
  state=$(svc --query "services[0].[deployments[?status=='PRIMARY'] | [0].[id, taskDefinition, rolloutState], deployments[?id=='$BROKEN_ID'] | [0].[status, rolloutState, failedTasks]][]" --output text | tr '\n' ' ')
  read -r P_ID P_TD P_STATE O_STATUS O_STATE O_FAILED <<< "$state"
  [[ -n "$O_STATUS" && "$O_STATUS" != None ]] || O_STATUS='not listed'
  [[ "$state" == "$last" ]] || log "PRIMARY $P_ID ${P_TD##*/} $P_STATE | ours ($BROKEN_ID): $O_STATUS ${O_STATE:-} ${O_FAILED:+failedTasks=$O_FAILED}"
  last=$state
  [[ "$O_STATE" == FAILED ]] && SAW_FAILED=yes
  # (ECS may make the last COMPLETED deployment PRIMARY again, Berth starts a new one: either will do.)
  if [[ "$P_ID" != "$BROKEN_ID" && "$P_TD" == "$OLD_TD" ]]; then
    ROLLBACK_ID=$P_ID
    break
  fi
  ((SECONDS < deadline)) || fail "no rollback to $OLD_TD within ${DEPLOY_TIMEOUT}s"
  sleep 2
done
log "rolled back: deployment $ROLLBACK_ID on ${OLD_TD##*/}; ours seen FAILED in describe-services: $SAW_FAILED"
wait_for services-stable --services "$SERVICE"
deployment_outcome
expect 'the broken deployment was rolled back' "$OUTCOME" ROLLED_BACK
[[ "$OURS_STATE" == FAILED || "$OURS_STATE" == None ]] || fail "the broken deployment is listed as $OURS_STATE, want FAILED or gone"
poll_deadline=$((SECONDS + 60))
until [[ "$(svc --query 'services[0].deployments[?status==`PRIMARY`] | [0].rolloutState' --output text)" == COMPLETED ]]; do
  ((SECONDS < poll_deadline)) || fail "the rollback deployment $ROLLBACK_ID did not complete"
  sleep 2
done
expect 'service back on the previous revision' \
  "$(svc --query 'services[0].[taskDefinition, runningCount, deployments[?status==`PRIMARY`] | [0].[id, taskDefinition, rolloutState]][]' --output text)" \
  "$(printf '%s\t2\t%s\t%s\tCOMPLETED' "$OLD_TD" "$ROLLBACK_ID" "$OLD_TD")"
expect 'the events name the failed deployment' \
  "$(svc --query "length(services[0].events[?contains(message, '$BROKEN_ID) deployment failed')]) > \`0\`" --output text)" True
expect 'and the rollback' \
  "$(svc --query "length(services[0].events[?contains(message, 'rolling back')]) > \`0\`" --output text)" True
read -r -a STOPPED <<< "$(ecs list-tasks --cluster "$CLUSTER" --service-name "$SERVICE" --desired-status STOPPED --query taskArns --output text)"
FAILED_TASKS=$(ecs describe-tasks --cluster "$CLUSTER" --tasks "${STOPPED[@]}" \
  --query "length(tasks[?taskDefinitionArn=='$BROKEN_TD' && containers[0].exitCode==\`3\` && stopCode=='EssentialContainerExited'])" --output text)
((FAILED_TASKS >= 3)) || fail "stopped tasks of $BROKEN_TD that exited 3: $FAILED_TASKS, want at least 3 (ECS's threshold)"
log "stopped tasks of the broken revision, exit code 3: $FAILED_TASKS"
# A CI tool deregisters the old revision only on success: the previous revision stays ACTIVE; the
# broken one is cleaned up.
expect 'the previous revision stays ACTIVE' "$(ecs describe-task-definition --task-definition "$OLD_TD" --query taskDefinition.status --output text)" ACTIVE
expect "deregister the broken $BROKEN_TD" "$(ecs deregister-task-definition --task-definition "$BROKEN_TD" --query taskDefinition.status --output text)" INACTIVE

# ---------------------------------------------------------------- the same through the service deployment calls
SD_DATA_PATH=${AWS_DATA_PATH:-}
if ! "$AWS_CLI" ecs list-service-deployments help >/dev/null 2>&1; then
  model=${ECS_SERVICE_DEPLOYMENTS_MODEL:-$FIXTURES/botocore-ecs-service-deployments.json}
  [[ -f "$model" ]] || fail "this AWS CLI has no list-service-deployments and there is no model for it at $model"
  mkdir -p "$WORK_DIR/models/ecs/2014-11-13"
  cp "$model" "$WORK_DIR/models/ecs/2014-11-13/service-2.json"
  SD_DATA_PATH=$WORK_DIR/models
  log "this AWS CLI predates ListServiceDeployments: those calls load $model (AWS_DATA_PATH)"
fi
sd() { AWS_DATA_PATH=$SD_DATA_PATH ecs "$@"; }
arn_of() { sd list-service-deployments --cluster "$CLUSTER" --service "$SERVICE" --query "serviceDeployments[?ends_with(serviceDeploymentArn, '/${1#ecs-svc/}')].serviceDeploymentArn | [0]" --output text; }
BROKEN_ARN=$(arn_of "$BROKEN_ID")
[[ "$BROKEN_ARN" == arn:*:service-deployment/* ]] || fail "list-service-deployments does not list $BROKEN_ID: '$BROKEN_ARN'"
expect 'list-service-deployments: the good deployment' \
  "$(sd list-service-deployments --cluster "$CLUSTER" --service "$SERVICE" --query "serviceDeployments[?ends_with(serviceDeploymentArn, '/${GOOD_ID#ecs-svc/}')].status | [0]" --output text)" SUCCESSFUL
expect 'list-service-deployments: the rollback deployment' \
  "$(sd list-service-deployments --cluster "$CLUSTER" --service "$SERVICE" --query "serviceDeployments[?ends_with(serviceDeploymentArn, '/${ROLLBACK_ID#ecs-svc/}')].status | [0]" --output text)" SUCCESSFUL
expect 'list-service-deployments: the broken deployment' \
  "$(sd list-service-deployments --cluster "$CLUSTER" --service "$SERVICE" --query "serviceDeployments[?serviceDeploymentArn=='$BROKEN_ARN'].status | [0]" --output text)" ROLLBACK_SUCCESSFUL
expect 'list-service-deployments --status ROLLBACK_SUCCESSFUL' \
  "$(sd list-service-deployments --cluster "$CLUSTER" --service "$SERVICE" --status ROLLBACK_SUCCESSFUL --query "length(serviceDeployments[?serviceDeploymentArn=='$BROKEN_ARN'])" --output text)" 1
sd describe-service-deployments --service-deployment-arns "$BROKEN_ARN" --output json > "$WORK_DIR/broken-deployment.json"
read -r D_STATUS D_CB D_FAILURES D_ROLLBACK <<< "$(sd describe-service-deployments --service-deployment-arns "$BROKEN_ARN" \
  --query 'serviceDeployments[0].[status, deploymentCircuitBreaker.status, deploymentCircuitBreaker.failureCount, rollback.serviceRevisionArn]' --output text)"
log "describe-service-deployments: $D_STATUS, circuit breaker $D_CB after $D_FAILURES failures, rollback to $D_ROLLBACK"
[[ "$D_STATUS" == ROLLBACK_SUCCESSFUL && "$D_CB" == TRIGGERED && "$D_FAILURES" -ge 3 && "$D_ROLLBACK" == arn:*:service-revision/* ]] \
  || fail "describe-service-deployments of the broken deployment: $(cat "$WORK_DIR/broken-deployment.json")"

# ---------------------------------------------------------------- clean up
expect 'delete-service' "$(ecs delete-service --cluster "$CLUSTER" --service "$SERVICE" --force --query service.status --output text)" DRAINING
wait_for services-inactive --services "$SERVICE"
SERVICE_CREATED=0
expect "deregister $GOOD_TD" "$(ecs deregister-task-definition --task-definition "$GOOD_TD" --query taskDefinition.status --output text)" INACTIVE
log "ok: all steps passed in $((SECONDS - STARTED))s"
