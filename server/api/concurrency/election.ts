import type { Header } from "../../etcdserver/server.js";
import { EtcdError, GrpcCode } from "../../pb/errors.js";
import { EventType, SortOrder, type KeyValue } from "../../pb/kv.js";
import { abortable, byCreate, createdAt, deleteOp, getOp, ownKey, prefixEnd, putOp, rangeOf, rangeRequest, sessionLease, waitDeletes, type V3Client } from "./client.js";

/** etcd's errors, plain Go errors in etcd (so gRPC code Unknown). */
export const ErrElectionNotLeader = new EtcdError(GrpcCode.Unknown, "election: not leader");
export const ErrElectionNoLeader = new EtcdError(GrpcCode.Unknown, "election: no leader");
export const ErrMissingLeaderKey = new EtcdError(GrpcCode.Unknown, '"leader" field must be provided');

/** v3electionpb.LeaderKey: what a campaign winner holds, and hands back to Proclaim and Resign. */
export interface LeaderKey {
  readonly name: Buffer;
  readonly key: Buffer;
  readonly rev: number;
  readonly lease: bigint;
}

const prefixOf = (name: Buffer) => Buffer.concat([name, Buffer.from("/")]);

/**
 * etcd's Election.Campaign: put `<name>/<lease>` with the value (or find it already there, and
 * proclaim the new value), then wait until every candidate created before it is gone. The answer's
 * header is the one of the first transaction, as etcd's.
 */
export async function campaign(c: V3Client, name: Buffer, lease: bigint, value: Buffer, signal: AbortSignal): Promise<{ header: Header; leader: LeaderKey }> {
  const id = await sessionLease(c, lease);
  const prefix = prefixOf(name);
  const key = ownKey(prefix, id);
  const r = await c.txn({ compare: [createdAt(key, 0)], success: [putOp(key, value, id)], failure: [getOp(rangeRequest({ key }))] });
  const leader = { name, key, rev: r.header.revision, lease: id };
  if (!r.response.succeeded) {
    const kv = rangeOf(r.response.responses[0]).kvs[0]!;
    leader.rev = kv.createRevision;
    if (!kv.value.equals(value)) {
      try {
        await proclaim(c, leader, value);
      } catch (e) {
        await resign(c, leader).catch(() => undefined);
        throw e;
      }
    }
  }
  try {
    await waitDeletes(c, prefix, leader.rev - 1, signal);
  } catch (e) {
    // a candidate whose caller went away withdraws; any other failure leaves the key to its lease
    if (signal.aborted) await resign(c, leader).catch(() => undefined);
    throw e;
  }
  return { header: r.header, leader };
}

/** etcd's Election.Proclaim: a new value under the leader key, only while that key is still the one elected. */
export async function proclaim(c: V3Client, leader: LeaderKey, value: Buffer): Promise<Header> {
  const r = await c.txn({ compare: [createdAt(leader.key, leader.rev)], success: [putOp(leader.key, value, leader.lease)], failure: [] });
  if (!r.response.succeeded) throw ErrElectionNotLeader;
  return r.header;
}

/** etcd's Election.Resign: delete the leader key if it is still the one elected (no error otherwise). */
export async function resign(c: V3Client, leader: LeaderKey): Promise<Header> {
  const r = await c.txn({ compare: [createdAt(leader.key, leader.rev)], success: [deleteOp(leader.key)], failure: [] });
  return r.header;
}

/** etcd's Election.Leader: the oldest candidate's key-value. */
export async function currentLeader(c: V3Client, name: Buffer): Promise<{ header: Header; kv: KeyValue }> {
  const r = await c.range(byCreate(prefixOf(name), SortOrder.Ascend));
  const kv = r.response.kvs[0];
  if (!kv) throw ErrElectionNoLeader;
  return { header: r.header, kv };
}

/**
 * etcd's Election.Observe: the current leader's value, then every new value it proclaims, then the
 * next leader's, and so on. With no leader it waits for the first put under the prefix. Ends (with
 * no error, as etcd) when a read or watch fails, e.g. on a compacted revision, or when `signal` aborts.
 */
export async function* observe(c: V3Client, name: Buffer, signal: AbortSignal, headerAt: (rev: number) => Header): AsyncGenerator<{ header: Header; kv: KeyValue }> {
  const prefix = prefixOf(name);
  for (;;) {
    let r;
    try {
      r = await abortable(c.range(byCreate(prefix, SortOrder.Ascend)), signal);
    } catch {
      return;
    }
    let cur: { header: Header; kv: KeyValue } | undefined;
    if (r.response.kvs[0]) cur = { header: r.header, kv: r.response.kvs[0] };
    else {
      const ac = linked(signal);
      try {
        for await (const wr of c.watch({ key: prefix, end: prefixEnd(prefix), startRev: r.header.revision }, ac.signal)) {
          if (wr.compactRevision !== 0) return;
          const put = wr.events.find((e) => e.type === EventType.Put);
          if (put) {
            cur = { header: { ...headerAt(wr.revision), revision: put.kv.modRevision }, kv: put.kv };
            break;
          }
        }
      } finally {
        ac.abort();
      }
      if (!cur) return;
    }
    yield cur;
    const ac = linked(signal);
    try {
      let deleted = false;
      for await (const wr of c.watch({ key: cur.kv.key, startRev: cur.header.revision + 1 }, ac.signal)) {
        if (wr.compactRevision !== 0) return;
        for (const e of wr.events) {
          if (e.type === EventType.Delete) {
            deleted = true;
            break;
          }
          yield { header: headerAt(wr.revision), kv: e.kv };
        }
        if (deleted) break;
      }
      if (!deleted) return;
    } finally {
      ac.abort();
    }
  }
}

/** A controller that aborts with `signal` and, once aborted itself, stops listening to it. */
function linked(signal: AbortSignal): AbortController {
  const ac = new AbortController();
  if (signal.aborted) ac.abort();
  else {
    const follow = () => ac.abort();
    signal.addEventListener("abort", follow, { once: true });
    ac.signal.addEventListener("abort", () => signal.removeEventListener("abort", follow), { once: true });
  }
  return ac;
}
