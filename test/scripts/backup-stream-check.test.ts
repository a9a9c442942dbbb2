/**
 * `etcdkit backup`'s check of the Snapshot stream, against a stand-in Maintenance server: a stream
 * whose trailer is the SHA-256 of what came before is accepted (the file holds exactly the stream);
 * a wrong trailer, a stream cut short (size % 512 != 32) and a failed stream are refused.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { serviceDefinition } from "../../server/api/proto/load.js";
import { streamSnapshot, type Endpoint } from "../../ansible-free-scripts/backup/snapshot-client.js";

const tmp = mkdtempSync(join(tmpdir(), "etcdkit-stream-check-"));
const db = Buffer.alloc(4096 * 3, 7);
db.write("a database", 0);
let reply: { chunks: Buffer[]; fail?: boolean } = { chunks: [] };
const server = new grpc.Server();
let ep: Endpoint;

before(async () => {
  server.addService(serviceDefinition("etcdserverpb", "Maintenance"), {
    Snapshot: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      for (const blob of reply.chunks) call.write({ header: {}, remaining_bytes: "0", blob });
      if (reply.fail) call.emit("error", { code: grpc.status.UNAVAILABLE, details: "stand-in failure" });
      else call.end();
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  ep = { url: `http://127.0.0.1:${port}`, tls: false };
});
after(() => {
  server.forceShutdown();
  rmSync(tmp, { recursive: true, force: true });
});

async function save(name: string) {
  const fh = await open(join(tmp, name), "w");
  try {
    return await streamSnapshot(ep, {}, fh, () => {});
  } finally {
    await fh.close();
  }
}

const sha = createHash("sha256").update(db).digest();

test("a stream whose trailer is the sha256 of the data is saved as it came", async () => {
  reply = { chunks: [db.subarray(0, 5000), db.subarray(5000), sha.subarray(0, 10), sha.subarray(10)] };
  const r = await save("good.db");
  assert.equal(r.sha256, sha.toString("hex"));
  assert.equal(r.size, db.length + 32);
  assert.deepEqual(readFileSync(join(tmp, "good.db")), Buffer.concat([db, sha]));
});

test("a wrong trailer, a short stream or a failed stream is refused", async () => {
  const wrong = Buffer.from(sha);
  wrong[0] = wrong[0]! ^ 1;
  reply = { chunks: [db, wrong] };
  await assert.rejects(save("wrong.db"), /sha256 mismatch: the trailer says/);
  const flipped = Buffer.from(db);
  flipped[9000] = 0;
  reply = { chunks: [flipped, sha] };
  await assert.rejects(save("flipped.db"), /sha256 mismatch/);
  reply = { chunks: [db.subarray(0, 4096), sha] };
  await assert.rejects(save("short.db"), /sha256 mismatch/);
  reply = { chunks: [db.subarray(0, 4000), sha] };
  await assert.rejects(save("cut.db"), /size % 512 must be 32/);
  reply = { chunks: [db], fail: true };
  await assert.rejects(save("failed.db"), /stand-in failure/);
});
