import type { IncomingMessage, ServerResponse } from "node:http";
import type { EtcdServer } from "../etcdserver/server.js";
import { API_VERSION, CLUSTER_VERSION } from "../etcdserver/server.js";
import { membersToJson } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";

/** The peer port's HTTP side, as etcd's: GET /members (used by members joining) and GET /version. */
export function peerHttpHandler(server: EtcdServer) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? "/").split("?")[0];
    const cluster = server.membership();
    const send = (status: number, body: unknown) => {
      const s = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "x-etcd-cluster-id": idToHex(cluster.clusterId) });
      res.end(s);
    };
    if (path === "/members" && req.method === "GET") return send(200, membersToJson(cluster));
    if (path === "/version") return send(200, { etcdserver: API_VERSION, etcdcluster: CLUSTER_VERSION });
    send(404, { message: "not found" });
  };
}
