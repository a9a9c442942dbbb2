import type { MemberConfig } from "../config/member-config.js";
import type { Logger } from "../log/logger.js";
import { createGrpcServer } from "../api/grpc/grpc-server.js";
import { KvHandlers } from "../api/grpc/kv-service.js";
import { LeaseHandlers } from "../api/grpc/lease-service.js";
import { createHttpApi } from "../api/http/http-api.js";
import { recipeHandlers } from "../api/v3client/recipes.js";
import { bootstrapServer } from "../etcdserver/bootstrap.js";
import type { EtcdServer } from "../etcdserver/server.js";
import * as grpc from "@grpc/grpc-js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SniffingListener } from "./sniffing-listener.js";
import { peerHttpHandler } from "./peer-http.js";
import { createPeerGrpcServer } from "../transport/peer-server.js";
import { idToHex } from "../membership/ids.js";

export interface Embedded {
  readonly server: EtcdServer;
  close(): Promise<void>;
}

/** The one place that wires the layers together and opens the listeners. */
export async function startEtcd(cfg: MemberConfig, logger: Logger, onRemoved: () => void = () => undefined): Promise<Embedded> {
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
    },
    "starting an etcd server",
  );
  const server = await bootstrapServer(cfg, logger);
  const kv = new KvHandlers(server, cfg.maxTxnOps);
  const metrics = server.metrics;
  const leases = new LeaseHandlers(server, 5000 + 2 * cfg.electionTimeoutMs);
  const recipes = recipeHandlers(server, leases);
  const grpcServer = createGrpcServer(server, kv, metrics, cfg.maxRequestBytes, leases, {}, recipes);
  const http = createHttpApi(server, kv, metrics, cfg.maxRequestBytes, leases, recipes);
  server.setOnRemoved(onRemoved);

  // Peers first: a member that starts must be reachable by the others before it campaigns.
  const peerGrpc = createPeerGrpcServer(server, logger, cfg.maxRequestBytes);
  const listeners: SniffingListener[] = [];
  const listen = async (urls: readonly string[], g: grpc.Server, h: (req: IncomingMessage, res: ServerResponse) => void) => {
    for (const u of urls) {
      const url = new URL(u);
      const l = new SniffingListener(g, h);
      await l.listen(url.hostname.replace(/^\[|\]$/g, ""), Number(url.port));
      listeners.push(l);
    }
  };
  await listen(cfg.listenPeerUrls, peerGrpc, peerHttpHandler(server));
  const peerListeners = listeners.splice(0);
  server.start();
  await listen(cfg.listenClientUrls, grpcServer, (req, res) => void http(req, res));
  await server.readyNotify();
  logger.info({ "local-member-id": idToHex(server.memberId) }, "ready to serve client requests");
  for (const u of cfg.listenClientUrls) {
    logger.warn({ address: new URL(u).host }, "serving client traffic insecurely; this is strongly discouraged!");
  }

  return {
    server,
    async close() {
      // Order matters: hand over leadership while peers can still reach us, then stop serving
      // clients, then stop raft, and close the peer side last.
      await server.transferLeadershipForShutdown();
      await Promise.all(listeners.map((l) => l.close()));
      await server.stop();
      leases.close();
      grpcServer.forceShutdown();
      await Promise.all(peerListeners.map((l) => l.close()));
      peerGrpc.forceShutdown();
    },
  };
}
