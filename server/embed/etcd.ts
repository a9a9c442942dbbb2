import { walDirOf, type MemberConfig } from "../config/member-config.js";
import { Wal } from "../wal/wal.js";
import { initialClusterFromSrv } from "../discovery/srv-initial-cluster.js";
import { srvLookupFromEnv } from "../discovery/dns-srv.js";
import type { Logger } from "../log/logger.js";
import { createGrpcServer } from "../api/grpc/grpc-server.js";
import { createHttpApi } from "../api/http/http-api.js";
import { recipeServices } from "../api/v3client/recipes.js";
import { KvRequests } from "../etcdserver/requests/kv.js";
import { LeaseRequests, type LeaseForwarding } from "../etcdserver/requests/lease.js";
import { WatchRequests } from "../etcdserver/requests/watch-session.js";
import { ClusterRequests } from "../etcdserver/requests/cluster.js";
import { MaintenanceRequests } from "../etcdserver/requests/maintenance.js";
import { Access } from "../etcdserver/requests/access.js";
import { AuthRequests, bcryptCostOf, DEFAULT_BCRYPT_COST } from "../etcdserver/requests/auth.js";
import { AuthOptionsError, tokenProviderOf } from "../auth/token-options.js";
import type { ClientServices } from "../etcdserver/requests/services.js";
import { openMember } from "../etcdserver/bootstrap.js";
import { composeServer, processEnvironment, requestTimeoutMs } from "./compose.js";
import type { EtcdServer } from "../etcdserver/server.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SniffingListener, type H2Host, type ListenerOptions } from "./sniffing-listener.js";
import { ConfigError } from "../config/errors.js";
import { formatGoDuration } from "../config/go-duration.js";
import { GATEWAY_STREAMING_BODIES } from "./gateway-paths.js";
import { grpcKeepaliveOf, PEER_KEEPALIVE, sessionTimersOf } from "./grpc-keepalive.js";
import type { HttpHandler } from "./http1-server.js";
import { connectionLimitPerListener, FdLimitError } from "./listener-limits.js";
import { metricsHttpHandler } from "./metrics-http.js";
import { accessControlled } from "./access-control.js";
import { peerHttpHandler } from "./peer-http.js";
import { createPeerGrpcServer } from "../transport/peer-server.js";
import { RaftStreamReceiver } from "../transport/raft-stream-receiver.js";
import { peerMaxMessageBytes } from "../transport/limits.js";
import { idToHex } from "../membership/ids.js";
import { prepareMemberTls } from "../tls/member-tls.js";
import type { TlsAcceptor } from "../tls/tls-acceptor.js";
import { listenGroups } from "./listen-groups.js";

export interface Embedded {
  readonly server: EtcdServer;
  close(): Promise<void>;
}

/** The one place that wires the layers together and opens the listeners. */
export async function startEtcd(cfg: MemberConfig, logger: Logger, onRemoved: () => void = () => undefined): Promise<Embedded> {
  logStart(cfg, logger);
  // Before anything starts: etcd refuses to run with too few file descriptors.
  const connectionLimit = connectionLimitOrRefuse(cfg);
  const keepalive = grpcKeepaliveOf(cfg);
  // TLS before anything else: a bad certificate stops the member before it binds a port or opens its WAL
  const tls = await prepareMemberTls(cfg, logger);
  refuseBadAuthToken(cfg);
  // etcd: a member with no data learns its initial cluster from DNS SRV records before anything else
  const bootCfg = cfg.discoverySrv !== "" && !Wal.exists(walDirOf(cfg)) ? { ...cfg, initialCluster: await initialClusterFromSrv(cfg, srvLookupFromEnv(), logger) } : cfg;
  const opened = await openMember(bootCfg, logger, tls.peerDialer);
  const server = composeServer(cfg, logger, opened, processEnvironment(opened.memberId, opened.cluster.clusterId, logger, tls.peerDialer));
  const metrics = server.metrics;
  const { services, leases } = clientServices(cfg, server);
  const grpcServer = createGrpcServer(services, metrics, {
    maxRequestBytes: cfg.maxRequestBytes,
    maxConcurrentStreams: cfg.maxConcurrentStreams,
    member: server,
    timers: sessionTimersOf(keepalive),
  });
  const http = createHttpApi(services, metrics, { maxRequestBytes: cfg.maxRequestBytes });
  const httpHandler = accessControlled(cfg, logger, (req: IncomingMessage, res: ServerResponse) => void http(req, res), {
    clientCertAuth: cfg.clientSecurity.clientCertAuth,
    authEnabled: () => server.auth.enabled,
  });
  server.setOnRemoved(onRemoved);

  // etcd's CheckInitialHashKV: before this member serves its peers or clients
  await refuseOnCorruption(server);
  // Peers first: a member that starts must be reachable by the others before it campaigns.
  const peerGrpc = createPeerGrpcServer(server.peers, logger, cfg.maxRequestBytes, sessionTimersOf(PEER_KEEPALIVE));
  const listen = async (name: string, urls: readonly string[], g: (() => H2Host) | undefined, h: HttpHandler, opts: ListenerOptions = {}, acceptor?: TlsAcceptor) => {
    const out: SniffingListener[] = [];
    for (const group of listenGroups(urls)) {
      const secure = group.secure && acceptor ? { tls: acceptor, plaintext: group.plaintext } : {};
      const l = new SniffingListener(g?.(), h, { name, logger, connectionLimit, ...opts, ...secure });
      await l.listen(group.host, group.port);
      out.push(l);
    }
    return out;
  };
  const raftStreams = new RaftStreamReceiver(server.peers, logger, peerMaxMessageBytes(cfg.maxRequestBytes));
  const peerListeners = await listen(
    "peer",
    cfg.listenPeerUrls,
    () => peerGrpc,
    peerHttpHandler(server),
    { keepalive: PEER_KEEPALIVE.policy, upgrade: (req, socket, head) => raftStreams.accept(req, socket, head) },
    tls.peer,
  );
  server.start();
  const clientListeners = await listen("client", cfg.listenClientUrls, () => grpcServer, httpHandler, { keepalive: keepalive.policy, streamingBodies: GATEWAY_STREAMING_BODIES, trackIdentities: true }, tls.client);
  const metricsListeners = await listen("metrics", cfg.listenMetricsUrls, undefined, metricsHttpHandler(httpHandler), {}, tls.metrics);
  for (const u of cfg.listenMetricsUrls) logger.info({ address: u }, "serving metrics");
  await server.readyNotify();
  logger.info({ "local-member-id": idToHex(server.memberId) }, "ready to serve client requests");
  for (const group of listenGroups(cfg.listenClientUrls)) {
    const address = `${group.host.includes(":") ? `[${group.host}]` : group.host}:${group.port}`;
    if (group.plaintext) logger.warn({ address }, "serving client traffic insecurely; this is strongly discouraged!");
    if (group.secure) logger.info({ address }, "serving client traffic securely");
  }

  return {
    server,
    async close() {
      // Order matters: hand over leadership while peers can still reach us, then stop serving
      // clients, then stop raft, and close the peer side last.
      await server.transferLeadershipForShutdown();
      await Promise.all([...clientListeners, ...metricsListeners].map((l) => l.close()));
      await server.stop();
      leases.close();
      server.tokens.close();
      grpcServer.destroy();
      await Promise.all(peerListeners.map((l) => l.close()));
      peerGrpc.destroy();
    },
  };
}

/**
 * The request layer over the server: what the gRPC and HTTP adapters serve. Every service checks its
 * callers through one Access. `forwarding`: the clock and the link to the leader that lease requests
 * on a follower use (a process: the system clock and gRPC; test/support/inproc/: the member's manual
 * clock and an in-memory link).
 */
export function clientServices(cfg: MemberConfig, server: EtcdServer, forwarding: LeaseForwarding = {}): { services: ClientServices; leases: LeaseRequests } {
  const access = new Access({
    store: server.auth,
    tokens: server.tokens,
    waitApplied: (index, signal) => server.waitApplied(index, signal),
    // the client certificate's common name (verified by the client listener) names the user only with --client-cert-auth, as etcd's
    clientCertAuth: cfg.clientSecurity.clientCertAuth,
  });
  const kv = new KvRequests(server, cfg.maxTxnOps, access);
  const leases = new LeaseRequests(server, requestTimeoutMs(cfg), access, forwarding);
  const watch = new WatchRequests(server, { maxRequestBytes: cfg.maxRequestBytes, progressNotifyMs: cfg.experimentalWatchProgressNotifyIntervalMs }, access);
  const services: ClientServices = {
    kv,
    lease: leases,
    watch,
    cluster: new ClusterRequests(server, access),
    maintenance: new MaintenanceRequests(server, access),
    auth: new AuthRequests(server, access, bcryptCostOf(cfg.bcryptCost ?? DEFAULT_BCRYPT_COST)),
    ...recipeServices({ kv, lease: leases, watch }, (rev) => server.header(rev)),
  };
  return { services, leases };
}

/** A failed initial corruption check stops the start, with the storage closed (nothing was served). */
async function refuseOnCorruption(server: EtcdServer): Promise<void> {
  try {
    await server.checkInitialHashKV();
  } catch (e) {
    await server.stop().catch(() => undefined);
    throw e;
  }
}

/** etcd refuses to start with --auth-token options it cannot use (a key file missing, an unknown method). */
function refuseBadAuthToken(cfg: MemberConfig): void {
  try {
    tokenProviderOf(cfg.authToken ?? "simple", cfg.authTokenTtlSeconds ?? 300).close();
  } catch (e) {
    if (e instanceof AuthOptionsError) throw new ConfigError(`--auth-token: ${e.message}`);
    throw e;
  }
}

/** Each listener's connection limit from the file limit; a limit too low to run with is a configuration error. */
function connectionLimitOrRefuse(cfg: MemberConfig): number {
  try {
    return connectionLimitPerListener(cfg.listenClientUrls.length + cfg.listenPeerUrls.length + cfg.listenMetricsUrls.length);
  } catch (e) {
    if (e instanceof FdLimitError) throw new ConfigError(e.message);
    throw e;
  }
}

/** etcd's start-up line: the settings that matter, as etcd names them. */
function logStart(cfg: MemberConfig, logger: Logger): void {
  logger.info(
    {
      name: cfg.name,
      "data-dir": cfg.dataDir,
      "heartbeat-interval": `${cfg.heartbeatIntervalMs}ms`,
      "election-timeout": `${cfg.electionTimeoutMs}ms`,
      "snapshot-count": cfg.snapshotCount,
      "advertise-client-urls": cfg.advertiseClientUrls,
      "listen-client-urls": cfg.listenClientUrls,
      "listen-peer-urls": cfg.listenPeerUrls,
      "initial-cluster": cfg.initialCluster.map((m) => `${m.name}=${m.peerUrls.join(",")}`).join(","),
      "initial-cluster-state": cfg.initialClusterState,
      "initial-cluster-token": cfg.initialClusterToken,
      "quota-backend-bytes": cfg.quotaBackendBytes,
      "max-request-bytes": cfg.maxRequestBytes,
      "pre-vote": cfg.preVote,
      "auto-compaction-mode": cfg.autoCompactionMode,
      "auto-compaction-retention": cfg.autoCompactionRetention,
      "listen-metrics-urls": cfg.listenMetricsUrls,
      metrics: cfg.metrics,
      "grpc-keepalive-min-time": formatGoDuration(cfg.grpcKeepAliveMinTimeMs),
      "grpc-keepalive-interval": formatGoDuration(cfg.grpcKeepAliveIntervalMs),
      "grpc-keepalive-timeout": formatGoDuration(cfg.grpcKeepAliveTimeoutMs),
      "max-concurrent-streams": cfg.maxConcurrentStreams,
      "initial-election-tick-advance": cfg.initialElectionTickAdvance,
      "cors": cfg.cors,
      "host-whitelist": cfg.hostWhitelist,
      "compaction-batch-limit": cfg.experimentalCompactionBatchLimit,
      "watch-progress-notify-interval": formatGoDuration(cfg.experimentalWatchProgressNotifyIntervalMs),
      "warning-apply-duration": formatGoDuration(cfg.experimentalWarningApplyDurationMs),
      "initial-corrupt-check": cfg.experimentalInitialCorruptCheck,
      "corrupt-check-time-interval": formatGoDuration(cfg.experimentalCorruptCheckTimeMs),
    },
    "starting an etcd server",
  );
}
