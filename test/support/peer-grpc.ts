import type { Logger } from "../../server/log/logger.js";
import { createPeerGrpcServer } from "../../server/transport/peer-server.js";
import type { PeerReceiver } from "../../server/transport/peer-service.js";
import { PEER_KEEPALIVE, sessionTimersOf } from "../../server/embed/grpc-keepalive.js";
import { listenGrpc } from "./grpcwire-listen.js";

/** The peer port's gRPC server (snapshots, with the peer port's keepalive) on 127.0.0.1:<any port>, nothing in front: for unit tests. */
export async function startPeerGrpc(r: PeerReceiver, logger: Logger, maxRequestBytes: number): Promise<{ endpoint: string; close(): Promise<void> }> {
  return listenGrpc(createPeerGrpcServer(r, logger, maxRequestBytes, sessionTimersOf(PEER_KEEPALIVE)));
}
