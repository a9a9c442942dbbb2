/**
 * What a committed ConfChange entry does, decided from the entry and from raft's configuration at
 * that point of the log (which every member derives the same way: from the snapshot's ConfState and
 * the conf changes after it). Like etcd's ValidateConfigurationChange, a change that does not fit
 * (unknown member, member ID that does not match its context, removing the last voter, demoting a
 * voter) is refused: raft does not see it and the proposer gets the etcd error. A refused or
 * undecodable entry is the same no-op on every member, and nothing here throws.
 */
import type { Cluster, Member, MembershipChange } from "../membership/cluster.js";
import { ErrMemberExist, ErrMemberNotFound, type EtcdError } from "../pb/errors.js";
import { decodeConfChange } from "../raft/conf-change-codec.js";
import { ConfChangeType, type ConfChange, type ConfState } from "../raft/types.js";

export type ConfChangePlan =
  | { readonly ok: true; readonly cc: ConfChange; readonly change: MembershipChange; readonly requestId?: bigint }
  | { readonly ok: false; readonly reason: string; readonly err?: EtcdError; readonly requestId?: bigint };

const U64_LIMIT = 1n << 64n;
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

function parseId(v: unknown): bigint | undefined {
  if (typeof v !== "string" || !/^[0-9]{1,20}$/.test(v)) return undefined;
  const id = BigInt(v);
  return id > 0n && id < U64_LIMIT ? id : undefined;
}

/** The member (and request id) a conf change's context carries (encodeMember's JSON), or why it does not. */
export function decodeMemberContext(context: Uint8Array): { member: Member; requestId?: bigint } | string {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(context).toString("utf8"));
  } catch {
    return "context is not JSON";
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return "context is not a JSON object";
  const r = o as Record<string, unknown>;
  const id = parseId(r.id);
  if (id === undefined) return "context has no valid member ID";
  if (!isStringArray(r.peerUrls) || (r.clientUrls !== undefined && !isStringArray(r.clientUrls))) return "context has no peer URL list";
  if (r.name !== undefined && typeof r.name !== "string") return "context has a member name that is not a string";
  const member: Member = { id, name: (r.name as string | undefined) ?? "", peerUrls: r.peerUrls, clientUrls: (r.clientUrls as string[] | undefined) ?? [], isLearner: r.isLearner === true };
  const requestId = parseId(r.requestId);
  return requestId === undefined ? { member } : { member, requestId };
}

/** Structure only (no state): the check a leader makes on a conf change forwarded by a peer. */
export function checkConfChangeEntry(data: Uint8Array): string | undefined {
  let cc: ConfChange;
  try {
    cc = decodeConfChange(data);
  } catch (e) {
    return (e as Error).message;
  }
  if (cc.nodeId === 0n) return "conf change for member ID 0";
  if (cc.type === ConfChangeType.RemoveNode && cc.context.length === 0) return undefined;
  const ctx = decodeMemberContext(cc.context);
  if (typeof ctx === "string") return `conf change ${ctx}`;
  return ctx.member.id === cc.nodeId ? undefined : "conf change context names another member";
}

export function planConfChange(data: Uint8Array, cs: ConfState, cluster: Cluster): ConfChangePlan {
  let cc: ConfChange;
  try {
    cc = decodeConfChange(data);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const ctx = cc.context.length > 0 ? decodeMemberContext(cc.context) : "conf change without a member context";
  const requestId = typeof ctx === "string" ? undefined : ctx.requestId;
  const refuse = (reason: string, err?: EtcdError): ConfChangePlan => ({ ok: false, reason, ...(err ? { err } : {}), ...(requestId !== undefined ? { requestId } : {}) });
  const accept = (change: MembershipChange): ConfChangePlan => ({ ok: true, cc, change, ...(requestId !== undefined ? { requestId } : {}) });

  const id = cc.nodeId;
  const isVoter = cs.voters.includes(id);
  const isLearner = cs.learners.includes(id);
  if (id === 0n) return refuse("conf change for member ID 0");
  if (cluster.removed.has(id)) return refuse("conf change for a removed member", ErrMemberNotFound);
  if (cc.type === ConfChangeType.RemoveNode) {
    if (!isVoter && !isLearner) return refuse("removal of a member that is not in the configuration", ErrMemberNotFound);
    if (isVoter && cs.voters.length === 1) return refuse("removal of the last voter");
    return accept({ kind: "remove", id });
  }
  if (typeof ctx === "string") return refuse(ctx);
  if (ctx.member.id !== id) return refuse("conf change context names another member");
  switch (cc.type) {
    case ConfChangeType.AddNode:
      // a learner's promotion; an AddNode of a voter is the bootstrap entry (raft already has it)
      if (isLearner) return accept({ kind: "promote", id });
      return accept({ kind: "add", member: { ...ctx.member, isLearner: false } });
    case ConfChangeType.AddLearnerNode:
      if (isVoter) return refuse("a voter cannot be added again as a learner", ErrMemberExist);
      return accept({ kind: "add", member: { ...ctx.member, isLearner: true } });
    case ConfChangeType.UpdateNode:
      if (!isVoter && !isLearner) return refuse("update of a member that is not in the configuration", ErrMemberNotFound);
      return accept({ kind: "update", id, peerUrls: ctx.member.peerUrls });
    default:
      return refuse(`unknown conf change type ${String(cc.type)}`);
  }
}
