import type { IncomingMessage, ServerResponse } from "node:http";
import type { EtcdServer } from "../etcdserver/server.js";
import { API_VERSION, CLUSTER_VERSION } from "../etcdserver/server.js";
import { decodeHashKVRequest, encodeHashKVResponse, PEER_HASHKV_PATH } from "../etcdserver/peer-hashkv.js";
import { membersToJson } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import { MvccError } from "../mvcc/index.js";

/** A HashKV request body is a few bytes; a longer one is refused unread (hostile input). */
const MAX_HASHKV_BODY = 64 * 1024;

/**
 * The peer port's HTTP side, as etcd's: GET /members (used by members joining), GET /version, and
 * GET /members/hashkv (a peer's HashKV for the corruption checks, etcd's hashKVHandler).
 */
export function peerHttpHandler(server: EtcdServer) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    const cluster = server.membership();
    const send = (status: number, body: unknown) => {
      const s = typeof body === "string" ? body : JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "x-etcd-cluster-id": idToHex(cluster.clusterId) });
      res.end(s);
    };
    if (path === "/members" && req.method === "GET") return send(200, membersToJson(cluster));
    if (path === "/version") return send(200, { etcdserver: API_VERSION, etcdcluster: CLUSTER_VERSION });
    if (path === PEER_HASHKV_PATH) return serveHashKV(server, req, res, (body) => send(200, body));
    send(404, { message: "not found" });
  };
}

/** Go's http.Error. */
function httpError(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
  res.end(`${text}\n`);
}

function serveHashKV(server: EtcdServer, req: IncomingMessage, res: ServerResponse, ok: (body: string) => void): void {
  if (req.method !== "GET") {
    res.setHeader("allow", "GET");
    return httpError(res, 405, "Method Not Allowed");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on("data", (c: Buffer) => {
    size += c.length;
    if (size > MAX_HASHKV_BODY) {
      httpError(res, 400, "error reading body");
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on("error", () => res.destroy());
  req.on("end", () => {
    if (res.headersSent) return;
    const rev = decodeHashKVRequest(Buffer.concat(chunks).toString("utf8"));
    if (rev === undefined) return httpError(res, 400, "error unmarshalling request");
    let h: { hash: number; compactRevision: number; rev: number };
    try {
      h = server.hashKV(rev);
    } catch (e) {
      if (e instanceof MvccError) return httpError(res, 400, e.message);
      return httpError(res, 500, e instanceof Error ? e.message : String(e));
    }
    ok(encodeHashKVResponse({ hash: h.hash, compactRevision: h.compactRevision, revision: h.rev }));
  });
}
