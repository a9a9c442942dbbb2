export { Lease, Lessor, LEASE_BUCKET, MAX_LEASE_TTL, minLeaseTtl } from "./lessor.js";
export { ErrLeaseExists, ErrLeaseNotFound, ErrLeaseTTLTooLarge, LeaseError, NotPrimaryError } from "./errors.js";
export type { LessorLogger, LessorOptions } from "./lessor.js";
export { decodeLease, encodeLease, leaseIdOfKey, leaseKey } from "./lease-codec.js";
export type { LeaseRecord } from "./lease-codec.js";
