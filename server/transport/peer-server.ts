import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "../pb/grpc-services.js";
import type { Logger } from "../log/logger.js";
import { MAX_CONCURRENT_STREAMS, peerMaxMessageBytes } from "./limits.js";
import { peerService, type PeerReceiver } from "./peer-service.js";

/**
 * The gRPC server of the peer port. A message over the limit is refused from its length prefix,
 * before it is buffered (grpc-js answers RESOURCE_EXHAUSTED), so a peer cannot make us allocate
 * more than peerMaxMessageBytes per call.
 */
export function createPeerGrpcServer(r: PeerReceiver, logger: Logger, maxRequestBytes: number, connectionOptions: grpc.ServerOptions = {}): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": peerMaxMessageBytes(maxRequestBytes),
    // we only ever send empty acknowledgements
    "grpc.max_send_message_length": 64 * 1024,
    "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
    // nothing serves channelz; left on, grpc-js counts and timestamps every message for it
    "grpc.enable_channelz": 0,
    ...connectionOptions,
  });
  server.addService(serviceDefinition("etcdtspeer", "Peer"), peerService(r, logger));
  return server;
}
