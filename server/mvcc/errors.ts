/**
 * The MVCC store's errors (etcd's mvcc.ErrCompacted, mvcc.ErrFutureRev), with etcd's texts. The API
 * layer's one table (etcdserver/requests/api-errors.ts) gives them their gRPC code and the
 * "etcdserver: " prefix clients see.
 */
import { DomainError } from "../pb/errors.js";

export class MvccError extends DomainError {
  override readonly name = "MvccError";
}

export const ErrCompacted = new MvccError("mvcc: required revision has been compacted");
export const ErrFutureRev = new MvccError("mvcc: required revision is a future revision");
