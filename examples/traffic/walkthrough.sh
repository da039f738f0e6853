#!/usr/bin/env bash
# A service behind a load balancer, with the berth CLI (docs/traffic.md walks the same steps, and the same
# with `aws elbv2` / `aws ecs`). Run from the repository root against a running control plane and agent
# (`npm start`), with HAProxy installed on the node (`apt-get install haproxy`).
#
#   bash examples/traffic/walkthrough.sh            # uses `npx berth`; BERTH=berth to use an installed one
#   PORT=18080 NODE=n-0123456789abcdef bash examples/traffic/walkthrough.sh
#
# The task definition uses berth-test/busybox:1 (bash scripts/build-test-image.sh); change its image to
# busybox:1.36 to pull from Docker Hub. `bash examples/traffic/walkthrough.sh clean` removes what it made.
set -euo pipefail
cd "$(dirname "$0")/../.."

read -r -a berth <<<"${BERTH:-npx berth}"
PORT="${PORT:-18080}"

if [[ "${1:-}" == clean ]]; then
  "${berth[@]}" service rm web --force || true # its targets drain (5 s), then its tasks stop
  "${berth[@]}" lb rm front || true
  "${berth[@]}" lb target-group rm web || true
  exit 0
fi

# 1. Which node serves load balancers: the first node, unless NODE is given.
NODE="${NODE:-$("${berth[@]}" node ls | awk 'NR == 2 { print $1 }')}"
[[ -n "$NODE" ]] || { echo "no node: start an agent first (npm start)" >&2; exit 1; }
"${berth[@]}" node attribute put "$NODE" berth.ingress=true

# 2. A target group: HTTP health checks on / every 5 s, healthy after 2, deregistered targets drain 5 s.
"${berth[@]}" lb target-group create web --port 8080 --protocol HTTP --health-path / --interval 5 --healthy 2 --unhealthy 2 --deregistration-delay 5

# 3. A load balancer on the ingress nodes, and a listener forwarding to the group.
"${berth[@]}" lb create front
"${berth[@]}" lb listen front "$PORT" --forward web --protocol HTTP

# 4. The service: its loadBalancers name the target group; its tasks become its targets.
"${berth[@]}" taskdef register -f examples/traffic/web-taskdef.json
"${berth[@]}" service create --file examples/traffic/web-service.json --wait

# 5. Through HAProxy on the ingress node (its address, or 127.0.0.1 when the agent binds every address).
"${berth[@]}" lb ls
"${berth[@]}" lb targets web
for _ in 1 2 3 4 5 6 7 8 9 10; do
  if curl -fsS "http://127.0.0.1:$PORT/" >/dev/null; then break; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$PORT/"
echo "serving on port $PORT; bash examples/traffic/walkthrough.sh clean removes it"
