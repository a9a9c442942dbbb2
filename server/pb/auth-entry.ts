/**
 * The payload of an Auth raft entry (etcd's InternalRaftRequest auth fields): `[op: u8][protobuf
 * request of that op]`. Passwords never enter the log: UserAdd and UserChangePassword carry the
 * bcrypt hash (`hashedPassword`, etcd 3.5's field), Authenticate carries the user name and the
 * simple-token prefix the proposing member drew.
 */
import { messageCodec } from "./proto.js";

export enum AuthOp {
  Enable = 1,
  Disable = 2,
  Authenticate = 3,
  UserAdd = 4,
  UserDelete = 5,
  UserChangePassword = 6,
  UserGrantRole = 7,
  UserRevokeRole = 8,
  RoleAdd = 9,
  RoleDelete = 10,
  RoleGrantPermission = 11,
  RoleRevokePermission = 12,
}

export interface WirePermission {
  permType: number;
  key: Buffer;
  range_end: Buffer;
}

export interface AuthRequests {
  [AuthOp.Enable]: Record<string, never>;
  [AuthOp.Disable]: Record<string, never>;
  [AuthOp.Authenticate]: { name: string; password?: string; simple_token: string };
  [AuthOp.UserAdd]: { name: string; password?: string; options: { no_password: boolean } | null; hashedPassword: string };
  [AuthOp.UserDelete]: { name: string };
  [AuthOp.UserChangePassword]: { name: string; password?: string; hashedPassword: string };
  [AuthOp.UserGrantRole]: { user: string; role: string };
  [AuthOp.UserRevokeRole]: { name: string; role: string };
  [AuthOp.RoleAdd]: { name: string };
  [AuthOp.RoleDelete]: { role: string };
  [AuthOp.RoleGrantPermission]: { name: string; perm: WirePermission | null };
  [AuthOp.RoleRevokePermission]: { role: string; key: Buffer; range_end: Buffer };
}

export type AuthRequest = { [K in AuthOp]: { readonly op: K; readonly req: AuthRequests[K] } }[AuthOp];

const TYPES: Readonly<Record<AuthOp, string>> = {
  [AuthOp.Enable]: "etcdserverpb.AuthEnableRequest",
  [AuthOp.Disable]: "etcdserverpb.AuthDisableRequest",
  [AuthOp.Authenticate]: "etcdserverpb.InternalAuthenticateRequest",
  [AuthOp.UserAdd]: "etcdserverpb.AuthUserAddRequest",
  [AuthOp.UserDelete]: "etcdserverpb.AuthUserDeleteRequest",
  [AuthOp.UserChangePassword]: "etcdserverpb.AuthUserChangePasswordRequest",
  [AuthOp.UserGrantRole]: "etcdserverpb.AuthUserGrantRoleRequest",
  [AuthOp.UserRevokeRole]: "etcdserverpb.AuthUserRevokeRoleRequest",
  [AuthOp.RoleAdd]: "etcdserverpb.AuthRoleAddRequest",
  [AuthOp.RoleDelete]: "etcdserverpb.AuthRoleDeleteRequest",
  [AuthOp.RoleGrantPermission]: "etcdserverpb.AuthRoleGrantPermissionRequest",
  [AuthOp.RoleRevokePermission]: "etcdserverpb.AuthRoleRevokePermissionRequest",
};

let codecs: Map<AuthOp, ReturnType<typeof messageCodec<object>>> | undefined;
function codecOf(op: AuthOp) {
  codecs ??= new Map(Object.entries(TYPES).map(([k, t]) => [Number(k) as AuthOp, messageCodec<object>(t)]));
  return codecs.get(op);
}

export function encodeAuthPayload(r: AuthRequest): Buffer {
  const body = codecOf(r.op)!.encode(r.req);
  return Buffer.concat([Buffer.from([r.op]), body]);
}

/** An auth payload that is not an auth request: the one error decodeAuthPayload throws. */
export class MalformedAuthPayload extends Error {
  override readonly name = "MalformedAuthPayload";
}

/** Throws MalformedAuthPayload on a payload that is not an auth request (an unknown op, bytes that do not decode). */
export function decodeAuthPayload(payload: Uint8Array): AuthRequest {
  if (payload.length < 1) throw new MalformedAuthPayload("auth payload without an op");
  const op = payload[0] as AuthOp;
  const codec = codecOf(op);
  if (!codec) throw new MalformedAuthPayload(`unknown auth op ${op}`);
  try {
    return { op, req: codec.decode(payload.subarray(1)) } as AuthRequest;
  } catch (e) {
    // protobufjs throws RangeError or its ProtocolError on bytes that are not the op's message
    throw new MalformedAuthPayload(`auth op ${AuthOp[op]}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
