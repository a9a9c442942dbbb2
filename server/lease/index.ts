export { Lease, Lessor, LEASE_BUCKET, MAX_LEASE_TTL, NotPrimaryError, minLeaseTtl } from "./lessor.js";
export type { LessorLogger, LessorOptions } from "./lessor.js";
export { decodeLease, encodeLease, leaseIdOfKey, leaseKey } from "./lease-codec.js";
export type { LeaseRecord } from "./lease-codec.js";
