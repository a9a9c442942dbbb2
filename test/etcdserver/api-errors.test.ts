/**
 * The one table from domain errors to what clients see (etcd's v3rpc/util.go): the domain layers
 * keep their own texts, clients get etcd's gRPC code and "etcdserver: ..." text.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { toApiError } from "../../server/etcdserver/requests/api-errors.js";
import * as lease from "../../server/lease/errors.js";
import * as mvcc from "../../server/mvcc/errors.js";
import { ErrNoLeader, GrpcCode } from "../../server/pb/errors.js";

test("domain errors become etcd's API errors; API errors pass; anything else is Unknown with its text", () => {
  const seen = (e: unknown) => {
    const a = toApiError(e);
    return [GrpcCode[a.code], a.message];
  };
  assert.deepEqual(seen(mvcc.ErrCompacted), ["OutOfRange", "etcdserver: mvcc: required revision has been compacted"]);
  assert.deepEqual(seen(mvcc.ErrFutureRev), ["OutOfRange", "etcdserver: mvcc: required revision is a future revision"]);
  assert.deepEqual(seen(lease.ErrLeaseNotFound), ["NotFound", "etcdserver: requested lease not found"]);
  assert.deepEqual(seen(lease.ErrLeaseExists), ["FailedPrecondition", "etcdserver: lease already exists"]);
  assert.deepEqual(seen(lease.ErrLeaseTTLTooLarge), ["OutOfRange", "etcdserver: too large lease TTL"]);
  assert.equal(toApiError(ErrNoLeader), ErrNoLeader);
  assert.deepEqual(seen(new Error("boom")), ["Unknown", "boom"]);
  // the domain layers' own texts are etcd's (mvcc.ErrCompacted, lease.ErrLeaseNotFound)
  assert.equal(mvcc.ErrCompacted.message, "mvcc: required revision has been compacted");
  assert.equal(lease.ErrLeaseNotFound.message, "lease not found");
});
