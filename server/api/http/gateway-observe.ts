import type { IncomingMessage, ServerResponse } from "node:http";
import type { ElectionService } from "../../etcdserver/requests/services.js";
import { messageCodec } from "../../pb/proto.js";
import { serverStreamOverHttp } from "./gateway-server-stream.js";

const leaderRequest = messageCodec<{ name: Buffer }>("v3electionpb.LeaderRequest");

/**
 * POST /v3/election/observe: one JSON LeaderRequest in the body (decoded as a unary request's);
 * a `{"result": ...}` line per leader change or proclamation until the client goes away (or the
 * observation ends, as etcd's does on a compacted revision).
 */
export function observeOverHttp(election: ElectionService, req: IncomingMessage, res: ServerResponse, maxRequestBytes: number): Promise<void> {
  const types = { request: "v3electionpb.LeaderRequest", response: "v3electionpb.LeaderResponse" };
  return serverStreamOverHttp(req, res, maxRequestBytes, types, (ctx, raw) => election.observe(ctx, leaderRequest.decode(raw)));
}
