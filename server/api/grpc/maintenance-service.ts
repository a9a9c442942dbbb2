import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EtcdServer } from "../../etcdserver/server.js";
import type { ServerMetrics } from "../../metrics/metrics.js";
import { toSafe } from "../../pb/convert.js";
import { headerToWire } from "./header.js";
import { unary } from "./unary.js";

const ALARM_NAMES = ["NONE", "NOSPACE", "CORRUPT"];

export function maintenanceService(server: EtcdServer, metrics: ServerMetrics): UntypedServiceImplementation {
  const svc = "etcdserverpb.Maintenance";
  return {
    Status: unary(metrics, svc, "Status", async () => {
      const s = server.status();
      return {
        header: headerToWire(s.header),
        version: s.version,
        dbSize: s.dbSize,
        leader: s.leader.toString(),
        raftIndex: s.raftIndex,
        raftTerm: s.raftTerm,
        raftAppliedIndex: s.raftAppliedIndex,
        errors: s.errors,
        dbSizeInUse: s.dbSizeInUse,
        isLearner: s.isLearner,
      };
    }),
    Alarm: unary(metrics, svc, "Alarm", async (req: { action: number; memberID: string; alarm: number }) => {
      const name = ALARM_NAMES[req.alarm] ?? "NONE";
      if (req.action === 1 && name !== "NONE" && !server.alarms.includes(name)) server.alarms.push(name);
      if (req.action === 2) server.alarms.splice(0, server.alarms.length, ...server.alarms.filter((a) => a !== name));
      return {
        header: headerToWire(server.header()),
        alarms: server.alarms.map((a) => ({ memberID: server.memberId.toString(), alarm: ALARM_NAMES.indexOf(a) })),
      };
    }),
    MoveLeader: unary(metrics, svc, "MoveLeader", async (req: { targetID: string }, signal) => {
      await server.moveLeader(BigInt(req.targetID), undefined, signal);
      return { header: headerToWire(server.header()) };
    }),
    HashKV: unary(metrics, svc, "HashKV", async (req: { revision: string }) => {
      const r = server.hashKV(toSafe(req.revision));
      return { header: headerToWire(server.header(r.rev)), hash: r.hash, compact_revision: r.compactRevision };
    }),
  };
}
