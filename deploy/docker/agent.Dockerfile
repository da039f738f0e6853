# The Berth agent image (and the berth CLI beside it), on Node 20. Build from the repository
# root after `npm run package`:
#
#   docker build -f deploy/docker/agent.Dockerfile -t berth/agent:0.1.0 .
#
# Run it with the host's Docker socket, host networking, and /run/berth shared with the host
# (file secrets are bind-mounted into containers by dockerd, which resolves host paths):
#
#   docker run -d --name berth-agent --restart unless-stopped --network host \
#     -v /var/run/docker.sock:/var/run/docker.sock -v /run/berth:/run/berth \
#     -v berth-agent:/var/lib/berth-agent berth/agent:0.1.0 --server CP:7400 --token TOKEN
#
# On machines without systemd, or to keep the host clean; deploy/install-agent.sh installs the
# single executable instead. Multi-arch as NODE_IMAGE is.
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}
COPY dist/bundles/berth-agent.cjs dist/bundles/berth.cjs /opt/berth/
VOLUME /var/lib/berth-agent
ENV BERTH_AGENT_DATA_DIR=/var/lib/berth-agent
# Root: the agent drives the Docker engine through its socket (root-equivalent either way).
# File secrets go where dockerd (on the host) can mount them from: /run/berth, shared with the host.
ENTRYPOINT ["node", "/opt/berth/berth-agent.cjs", "--secrets-dir", "/run/berth/secrets"]
