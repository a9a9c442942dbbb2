import { GrpcServer } from "../grpcwire/grpc-server.js";
import type { MethodSpec } from "../grpcwire/method.js";
import type { SessionTimerOptions } from "../grpcwire/session-timers.js";
import { methodSpecs } from "../pb/grpc-services.js";
import type { Logger } from "../log/logger.js";
import { MAX_CONCURRENT_STREAMS, peerMaxMessageBytes } from "./limits.js";
import { snapshotHandler, type PeerReceiver } from "./peer-service.js";
import type { Chunk } from "./snapshot-receiver.js";

/**
 * The gRPC server of the peer port (server/grpcwire): etcdtspeer.Peer/Snapshot only. A message over the limit is
 * refused from its length prefix, before it is buffered (RESOURCE_EXHAUSTED), so a peer cannot make us allocate more
 * than peerMaxMessageBytes per call; at most MAX_CONCURRENT_STREAMS calls per connection. `timers`: the server's
 * keepalive pings and the idle limit of connections without streams (embed/grpc-keepalive.ts, PEER_KEEPALIVE).
 */
export function createPeerGrpcServer(r: PeerReceiver, logger: Logger, maxRequestBytes: number, timers: SessionTimerOptions): GrpcServer {
  const server = new GrpcServer({ maxReceiveBytes: peerMaxMessageBytes(maxRequestBytes), maxConcurrentStreams: MAX_CONCURRENT_STREAMS, ...timers });
  const spec = methodSpecs("etcdtspeer", "Peer").Snapshot;
  if (!spec) throw new Error("etcdtspeer.Peer has no Snapshot method in the loaded protos");
  server.stream(spec as MethodSpec<Chunk, object>, snapshotHandler(r, logger));
  return server;
}
