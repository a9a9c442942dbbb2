/** Request validation before proposing (etcd's v3rpc/key.go). */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_MAX_TXN_OPS, validateDeleteRange, validatePut, validateRange, validateTxn } from "../../server/etcdserver/apply/validate.js";
import { ErrDuplicateKey, ErrEmptyKey, ErrInvalidSortOption, ErrLeaseProvided, ErrTooManyOps, ErrValueProvided } from "../../server/pb/errors.js";
import { CompareResult, CompareTarget, SortOrder, SortTarget, type RequestOp } from "../../server/pb/kv.js";
import { B, FROM_KEY, delReq, opDel, opPut, opRange, opTxn, putReq, rangeReq, txnReq } from "../mvcc/helpers.js";

const put = (k: string) => opPut(putReq(k, "v"));
const del = (k: string, end: string | Buffer = "") => opDel(delReq(k, end));
const txn = (success: RequestOp[], failure: RequestOp[] = []) => opTxn(txnReq([], success, failure));
const check = (success: RequestOp[], failure: RequestOp[] = [], max = DEFAULT_MAX_TXN_OPS) => () => validateTxn(txnReq([], success, failure), max);

describe("single requests", () => {
  it("empty keys", () => {
    assert.throws(() => validateRange(rangeReq("")), ErrEmptyKey);
    assert.throws(() => validatePut(putReq("", "v")), ErrEmptyKey);
    assert.throws(() => validateDeleteRange(delReq("")), ErrEmptyKey);
    validateRange(rangeReq("\0", FROM_KEY));
  });
  it("ignore_value with a value, ignore_lease with a lease", () => {
    assert.throws(() => validatePut(putReq("k", "v", { ignoreValue: true })), ErrValueProvided);
    assert.throws(() => validatePut(putReq("k", "", { ignoreLease: true, lease: 5n })), ErrLeaseProvided);
    validatePut(putReq("k", "", { ignoreValue: true, ignoreLease: true }));
  });
  it("sort order / target outside the enums (etcd 3.5's check)", () => {
    assert.throws(() => validateRange(rangeReq("k", "", { sortOrder: 3 as SortOrder })), ErrInvalidSortOption);
    assert.throws(() => validateRange(rangeReq("k", "", { sortTarget: 5 as SortTarget })), ErrInvalidSortOption);
    assert.throws(() => validateRange(rangeReq("k", "", { sortTarget: -1 as SortTarget })), ErrInvalidSortOption);
    validateRange(rangeReq("k", "", { sortOrder: 2, sortTarget: 4 }));
  });
});

describe("txn", () => {
  it("too many ops: max(#compare, #success, #failure) > maxTxnOps; nested txns get what is left", () => {
    const n = (k: number) => Array.from({ length: k }, (_, i) => put(`k${i}`));
    check(n(4), n(4), 4)();
    assert.throws(check(n(5), [], 4), ErrTooManyOps);
    assert.throws(() => validateTxn({ compare: Array.from({ length: 5 }, () => ({ key: B("k"), rangeEnd: B(""), target: CompareTarget.Version, result: CompareResult.Equal })), success: [], failure: [] }, 4), ErrTooManyOps);
    // outer uses 2 of 4: a nested txn may use 2, not 3
    check([put("a"), txn([put("b"), put("c")])], [], 4)();
    assert.throws(check([put("a"), txn([put("b"), put("c"), put("d")])], [], 4), ErrTooManyOps);
  });

  it("empty keys anywhere, compares included", () => {
    assert.throws(() => validateTxn({ compare: [{ key: B(""), rangeEnd: B(""), target: CompareTarget.Value, result: CompareResult.Equal }], success: [], failure: [] }), ErrEmptyKey);
    assert.throws(check([opRange(rangeReq(""))]), ErrEmptyKey);
    assert.throws(check([], [txn([put("")])]), ErrEmptyKey);
    assert.throws(check([opRange(rangeReq("k", "", { sortOrder: 9 as SortOrder }))]), ErrInvalidSortOption);
  });

  it("duplicate puts; puts inside deleted ranges (single keys and [key, end))", () => {
    assert.throws(check([put("a"), put("a")]), ErrDuplicateKey);
    assert.throws(check([del("a"), put("a")]), ErrDuplicateKey);
    assert.throws(check([put("a"), del("a")]), ErrDuplicateKey);
    assert.throws(check([del("a", "c"), put("b")]), ErrDuplicateKey);
    check([del("a", "c"), put("c")])();
    check([del("b", "a"), put("a")])(); // an empty range overlaps nothing
    check([del("a"), del("a")])(); // deletes may overlap
    check([put("a")], [put("a")])(); // branches are checked separately
  });

  it('a delete with range_end "\\0" overlaps no put (as etcd\'s interval check)', () => {
    check([del("a", FROM_KEY), put("b")])();
    check([put("b"), del("a", FROM_KEY)])();
    check([txn([del("a", FROM_KEY)]), put("b")])();
  });

  it("nested txns: puts across levels, deletes of an earlier level", () => {
    assert.throws(check([put("a"), txn([put("a")])]), ErrDuplicateKey);
    assert.throws(check([txn([put("a")]), txn([put("a")])]), ErrDuplicateKey);
    assert.throws(check([del("a"), txn([put("a")])]), ErrDuplicateKey);
    assert.throws(check([txn([del("a")]), put("a")]), ErrDuplicateKey);
    assert.throws(check([txn([del("a")]), txn([put("a")])]), ErrDuplicateKey);
    assert.throws(check([txn([put("a")], [put("b")]), txn([], [put("b")])]), ErrDuplicateKey);
    // the same key in both branches of one nested txn is fine; so is a put before a later nested delete
    check([txn([put("a")], [put("a")])])();
    check([txn([put("a")]), txn([del("a")])])();
    // within a nested branch the same rules apply
    assert.throws(check([txn([put("x"), del("x")])]), ErrDuplicateKey);
  });
});
