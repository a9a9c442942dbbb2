/**
 * What the KV layer needs from leases (the lease module implements it). `attach`/`detach` are
 * called by the store when a committed write gives a key a lease or takes it away, in order.
 */
export interface LeaseHooks {
  exists(id: bigint): boolean;
  attach(id: bigint, key: Buffer): void;
  detach(id: bigint, key: Buffer): void;
  /** The lease the key is attached to, 0n for none (etcd's lessor.GetLease: a write detaches the key from it). */
  leaseOf(key: Buffer): bigint;
}

/** The hooks the store itself calls. */
export type StoreLeaseHooks = Pick<LeaseHooks, "attach" | "detach" | "leaseOf">;
