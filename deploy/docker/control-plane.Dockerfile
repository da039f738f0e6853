# The Berth control plane image: the one-file bundle (no node_modules) and the embedded
# store's files, on Node 20. Build from the repository root after `npm run package`:
#
#   docker build -f deploy/docker/control-plane.Dockerfile -t berth/control-plane:0.1.0 .
#
# Multi-arch: the bundle is plain JavaScript, so the image is as multi-arch as NODE_IMAGE
# (docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 ...).
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}
COPY dist/bundles/control-plane/ /opt/berth/control-plane/
# State (cluster CA, secrets key, the embedded store when DATABASE_URL is not set) in a volume,
# owned by an unprivileged user (uid 1000, "node" in the official image).
RUN mkdir -p /var/lib/berth && chown 1000:1000 /var/lib/berth
VOLUME /var/lib/berth
ENV BERTH_DATA_DIR=/var/lib/berth
USER 1000:1000
# 7400: gRPC API and agents (TLS); 7401: /healthz, /readyz, /cacerts; 7402: the ECS API (TLS, SigV4).
EXPOSE 7400 7401 7402
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.BERTH_HTTP_PORT || 7401) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/opt/berth/control-plane/berth-control-plane.cjs"]
