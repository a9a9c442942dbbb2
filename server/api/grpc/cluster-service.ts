import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../../etcdserver/server.js";
import type { Member } from "../../membership/cluster.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { headerToWire } from "./header.js";
import { unary } from "./unary.js";

export function memberToWire(m: Member) {
  return { ID: m.id.toString(), name: m.name, peerURLs: [...m.peerUrls], clientURLs: [...m.clientUrls], isLearner: m.isLearner };
}

export function clusterService(server: EtcdServer, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "etcdserverpb.Cluster";
  return {
    MemberList: unary(metrics, svc, "MemberList", async () => ({ header: headerToWire(server.header()), members: server.members().map(memberToWire) })),
  };
}
