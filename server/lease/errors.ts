/**
 * The lessor's errors (etcd's lease.ErrLeaseNotFound, ErrLeaseExists, ErrLeaseTTLTooLarge,
 * ErrNotPrimary), with etcd's texts. The API layer's one table (etcdserver/requests/api-errors.ts)
 * gives them their gRPC code and text.
 */
import { DomainError } from "../pb/errors.js";

export class LeaseError extends DomainError {
  override readonly name: string = "LeaseError";
}

export const ErrLeaseNotFound = new LeaseError("lease not found");
export const ErrLeaseExists = new LeaseError("lease already exists");
export const ErrLeaseTTLTooLarge = new LeaseError("too large lease TTL");

/** The lessor is not (or no longer) the leader's: forward the request to the leader. */
export class NotPrimaryError extends LeaseError {
  override readonly name = "NotPrimaryError";
  constructor() {
    super("not a primary lessor");
  }
}
