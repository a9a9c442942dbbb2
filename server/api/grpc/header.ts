import type { Header } from "../../etcdserver/server.js";
import type { WireHeader } from "../../pb/wire.js";

export function headerToWire(h: Header): WireHeader {
  return { cluster_id: h.clusterId.toString(), member_id: h.memberId.toString(), revision: h.revision, raft_term: h.raftTerm };
}
