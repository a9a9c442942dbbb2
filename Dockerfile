# etcd-ts server image. Build: docker build -t etcd-ts:local .
# Offline: import a node base image first (docker load < node20.tar) and pass
#   --build-arg BASE_IMAGE=<that image>; both stages start from it.
ARG BASE_IMAGE=node:20-bookworm-slim

# ---- build: dev dependencies + tsc
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc before the sources are here; native modules (lmdb) load
# their prebuilt binaries from their optional packages at run time.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY server ./server
RUN npx tsc -p tsconfig.json --outDir dist \
 && mkdir -p /out/var/lib/etcd

# ---- production dependencies only
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime: no RUN step, so a base without a shell works too
FROM ${BASE_IMAGE} AS runtime
ENV NODE_ENV=production \
    ETCD_DATA_DIR=/var/lib/etcd/default \
    ETCD_LISTEN_CLIENT_URLS=http://0.0.0.0:2379 \
    ETCD_ADVERTISE_CLIENT_URLS=http://127.0.0.1:2379 \
    ETCD_LISTEN_PEER_URLS=http://0.0.0.0:2380
WORKDIR /app
COPY --from=deps --chown=1000:1000 /app/node_modules ./node_modules
COPY --chown=1000:1000 package.json ./
COPY --from=build --chown=1000:1000 /src/dist/server ./dist/server
COPY --chown=1000:1000 server/api/proto ./server/api/proto
COPY --chown=1000:1000 bin ./bin
# The data volume's mount point, owned by the runtime user so a new named volume inherits it.
COPY --from=build --chown=1000:1000 /out/var/lib/etcd /var/lib/etcd
# uid 1000 is the "node" user of the official node images; numeric so any base works.
USER 1000:1000
EXPOSE 2379 2380
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node","-e","fetch('http://127.0.0.1:2379/health').then(r=>r.json()).then(j=>process.exit(j.health==='true'?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node","/app/bin/etcd-ts.js"]
