/** A raw etcd Watch stream, typed with the few fields the load runners read (bench/watch-load.ts, bench/lease-expiry-load.ts). */
import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { EtcdChannel } from "./etcd-client.js";

export interface WatchRequest {
  /** filters: 0 = NOPUT, 1 = NODELETE. */
  create_request: { key: Buffer; range_end: Buffer; start_revision: number; filters?: number[] };
}

export interface WatchEvent {
  /** 0 / "PUT", 1 / "DELETE", depending on how the stubs decode enums. */
  type?: number | string;
  kv?: { key?: Buffer; value?: Buffer | string };
}

export interface WatchResponse {
  created?: boolean;
  canceled?: boolean;
  cancel_reason?: string;
  events?: WatchEvent[];
}

export type WatchCall = ClientDuplexStream<WatchRequest, WatchResponse>;

/** A new Watch stream on this channel; nothing is watched until a create_request is written. */
export function openWatch(ch: EtcdChannel): WatchCall {
  return (ch.watch() as unknown as { Watch(): WatchCall }).Watch();
}

/** Asks the stream to watch exactly this key from now on. */
export function watchKey(key: Buffer): WatchRequest {
  return { create_request: { key, range_end: Buffer.alloc(0), start_revision: 0 } };
}
