# etcd-ts server image.
#
#   npm ci                                   # once (online), on the host: Linux, same CPU as the image
#   npx tsx stacks/image-bundle.ts           # compiles if needed, writes .etcdkit/image/ (server + its runtime node_modules only)
#   docker build -t etcd-ts:local .          # offline: no RUN step, nothing fetched
#
# The app is prepared on the host and only copied here, so the build needs no registry, no shell
# and no npm in the base: any image with `node` on PATH works, e.g. a root filesystem imported with
# `docker import` (`--build-arg BASE_IMAGE=etcdkit-base:local`, see test/docker/base-image.ts),
# and the legacy builder (which runs every stage; the Terraform docker provider uses it) works
# as well as BuildKit. `cdktf deploy` builds this file too: prepare the app first.
#
# Online, on a machine without node: prepare the app in a node container, then build as above:
#   docker run --rm -v "$PWD":/src -w /src node:20-bookworm-slim \
#     sh -c 'npm ci --no-audit --no-fund && npx tsx stacks/image-bundle.ts'
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- build: the prepared app (see stacks/image-bundle.ts); "not found in build context" for
#      .etcdkit/image means `npx tsx stacks/image-bundle.ts` was not run.
FROM scratch AS build
COPY .etcdkit/image/app /app
# The data volume's mount point (an empty folder), owned by the runtime user below so that a new
# named volume mounted there inherits the owner; the same for the backup container's volume.
COPY .etcdkit/image/data /var/lib/etcd
COPY .etcdkit/image/backups /var/backups/etcdkit

# ---- runtime: no RUN step, so a base without a shell works too
FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ETCD_DATA_DIR=/var/lib/etcd/default \
    ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379 \
    ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:2379 \
    ETCD_LISTEN_PEER_URLS=http://0.0.0.0:2380
WORKDIR /app
# The app stays root's (read-only to the server); only the data and backup dirs belong to the runtime user.
COPY --from=build /app /app
COPY --from=build --chown=1000:1000 /var/lib/etcd /var/lib/etcd
COPY --from=build --chown=1000:1000 /var/backups/etcdkit /var/backups/etcdkit
# uid 1000 is the "node" user of the official node images; numeric so any base works.
USER 1000:1000
EXPOSE 2379 2380
# The probe (stacks/pod/probe.ts) asks /health at the member's own client URL: https with the
# member's certificate when ETCD_LISTEN_CLIENT_URLS is https (the kit's default), else http.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node","/app/dist/stacks/pod/probe.js","/health"]
ENTRYPOINT ["node","/app/bin/etcd-ts.js"]
