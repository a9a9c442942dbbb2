/** server/grpcwire/status.ts and timeout.ts: the header values as the gRPC HTTP/2 protocol (and grpc-go) spell them. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { encodeGrpcMessage, statusFields } from "../../server/grpcwire/status.js";
import { parseGrpcTimeout } from "../../server/grpcwire/timeout.js";

describe("grpc-message", () => {
  test("printable ASCII passes; '%', control bytes and UTF-8 are percent-encoded", () => {
    assert.equal(encodeGrpcMessage("etcdserver: request timed out"), "etcdserver: request timed out");
    assert.equal(encodeGrpcMessage("100% sure"), "100%25 sure");
    assert.equal(encodeGrpcMessage("a\nb"), "a%0Ab");
    assert.equal(encodeGrpcMessage("clé"), "cl%C3%A9");
  });

  test("an empty message is left out, as grpc-go does", () => {
    assert.deepEqual(statusFields({ code: 0, message: "" }), { "grpc-status": "0" });
    assert.deepEqual(statusFields({ code: 14, message: "x" }), { "grpc-status": "14", "grpc-message": "x" });
  });
});

describe("grpc-timeout", () => {
  test("each unit", () => {
    assert.equal(parseGrpcTimeout("2H"), 7_200_000);
    assert.equal(parseGrpcTimeout("3M"), 180_000);
    assert.equal(parseGrpcTimeout("5S"), 5000);
    assert.equal(parseGrpcTimeout("250m"), 250);
    assert.equal(parseGrpcTimeout("1500u"), 1.5);
    assert.equal(parseGrpcTimeout("2000000n"), 2);
    assert.equal(parseGrpcTimeout(undefined), undefined);
  });

  test("malformed: too short, too long (over 8 digits), unknown unit, not digits", () => {
    for (const v of ["", "S", "123456789S", "5x", "-5S", "5.5S", " 5S"]) assert.equal(parseGrpcTimeout(v), null, v);
    assert.equal(parseGrpcTimeout("99999999H"), 99999999 * 3_600_000);
  });
});
