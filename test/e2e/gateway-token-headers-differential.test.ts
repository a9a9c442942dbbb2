/**
 * Differential, which HTTP headers carry a token through the JSON gateway, against Debian's etcd
 * 3.4.23 and etcd-ts with auth on. etcd's grpc-gateway forwards `Authorization` as gRPC metadata
 * `authorization` and every `Grpc-Metadata-<Name>` header as metadata `<name>` (so
 * `Grpc-Metadata-Authorization` is `authorization` too); etcd's
 * AuthInfoFromCtx reads metadata `token` first, then `authorization`. So `Grpc-Metadata-Token` is a
 * token too, and wins over `Authorization`; a header sent empty is an empty token, which is invalid
 * (not "no token").
 * Regression: etcd-ts read `Authorization` only, and took an empty one for none.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { etcdctl } from "../support/etcdctl.js";
import type { Flavor, MemberProcess } from "../support/launcher.js";
import { sideBySide } from "../support/side-by-side.js";

const b64 = (s: string) => Buffer.from(s).toString("base64");

async function post(m: MemberProcess, path: string, body: object, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${m.clientUrl}${path}`, { method: "POST", headers, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  const json = (await res.json()) as Record<string, unknown>;
  delete json.header;
  if (typeof json.token === "string") json.token = "T";
  return { status: res.status, body: json };
}

describe("tokens in gateway headers, as etcd 3.4's grpc-gateway forwards them", { timeout: 120_000 }, () => {
  const members = new Map<Flavor, MemberProcess>();
  sideBySide((etcd, ours) => {
    members.set("etcd", etcd);
    members.set("etcd-ts", ours);
  });

  async function answers(m: MemberProcess): Promise<Record<string, unknown>> {
    for (const a of [["user", "add", "root:rootpw"], ["user", "add", "alice:apw"], ["role", "add", "r1"], ["role", "grant-permission", "r1", "readwrite", "foo"], ["user", "grant-role", "alice", "r1"], ["auth", "enable"]]) {
      const r = await etcdctl(m.endpoint, a);
      assert.equal(r.code, 0, `${m.flavor} ${a.join(" ")}: ${r.stderr}`);
    }
    const auth = await fetch(`${m.clientUrl}/v3/auth/authenticate`, { method: "POST", body: JSON.stringify({ name: "alice", password: "apw" }) });
    const token = ((await auth.json()) as { token: string }).token;
    const put = (headers: Record<string, string>) => post(m, "/v3/kv/put", { key: b64("foo"), value: b64("v") }, headers);
    return {
      authorization: await put({ authorization: token }),
      "grpc-metadata-token": await put({ "grpc-metadata-token": token }),
      "Grpc-Metadata-Token": await put({ "Grpc-Metadata-Token": token }),
      "grpc-metadata-token bad, authorization good": await put({ "grpc-metadata-token": "bad", authorization: token }),
      "grpc-metadata-token good, authorization bad": await put({ "grpc-metadata-token": token, authorization: "bad" }),
      "grpc-metadata-token empty, authorization good": await put({ "grpc-metadata-token": "", authorization: token }),
      "grpc-metadata-token on the snapshot stream (alice: not root)": await post(m, "/v3/maintenance/snapshot", {}, { "grpc-metadata-token": token }),
      "grpc-metadata-authorization": await put({ "grpc-metadata-authorization": token }),
      "authorization empty": await put({ authorization: "" }),
      "grpc-metadata-token empty": await put({ "grpc-metadata-token": "" }),
      none: await put({}),
    };
  }

  test("Authorization, Grpc-Metadata-Token, both", async () => {
    const got = new Map<Flavor, Record<string, unknown>>();
    for (const [f, m] of members) got.set(f, await answers(m));
    assert.deepEqual(got.get("etcd-ts"), got.get("etcd"));
    assert.equal((got.get("etcd")!["grpc-metadata-token"] as { status: number }).status, 200, "etcd takes Grpc-Metadata-Token as the token");
  });
});
