#!/usr/bin/env node
// What each suspect of the performance issue costs once, hot, on this machine (µs per operation):
// protobuf decode/encode of a put, raft message encode/decode, a request context (AbortController +
// timer), the gRPC metrics, a setImmediate hop, an fdatasync inline and through the thread pool.
// Multiply by the count per put (README.md beside this file) and compare with the CPU per put.
//
//   npm run build && node bench/figures/profiles-2026-12-04/micro-costs.mjs
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("../../../dist/server/", import.meta.url);
const { decodeNormalEntry } = await import(new URL("etcdserver/entry-decode.js", root));
const { encodeProposal, ProposalKind } = await import(new URL("etcdserver/proposal.js", root));
const { serviceDefinition } = await import(new URL("api/proto/load.js", root));
const { encodeMessage, decodeMessage } = await import(new URL("raft/message-codec.js", root));
const { ServerMetrics } = await import(new URL("metrics/metrics.js", root));

function time(name, n, fn) {
  for (let i = 0; i < Math.min(n, 2000); i++) fn(i); // warm up the JIT
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const us = ((performance.now() - t) * 1000) / n;
  console.log(`${us.toFixed(2).padStart(9)} µs  ${name}`);
  return us;
}
async function timeAsync(name, n, fn) {
  for (let i = 0; i < 50; i++) await fn(i);
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  const us = ((performance.now() - t) * 1000) / n;
  console.log(`${us.toFixed(2).padStart(9)} µs  ${name}`);
}

const kv = serviceDefinition("etcdserverpb", "KV");
const raw = kv.Put.requestSerialize({ key: Buffer.from("bench/run/put/00001234"), value: Buffer.alloc(256, 1) });
const data = encodeProposal({ id: 123n, kind: ProposalKind.Put, payload: raw });
time("protobuf: PutRequest decode (proto-loader, as the API layer)", 200000, () => kv.Put.requestDeserialize(raw));
time("protobuf: committed Put entry decode + checks (apply, entry-decode.ts)", 200000, () => decodeNormalEntry(data));
const resp = { header: { cluster_id: "123456789", member_id: "987654321", revision: "12345", raft_term: "2" } };
time("protobuf: PutResponse encode (proto-loader)", 200000, () => kv.Put.responseSerialize(resp));
const msg = { type: 3, to: 2n, from: 1n, term: 2, logTerm: 2, index: 100, entries: [{ term: 2, index: 101, type: 0, data }], commit: 100, reject: false, rejectHint: 0, context: new Uint8Array(0) };
const enc = encodeMessage(msg);
time(`raft message encode (MsgApp, 1 entry, ${enc.length} bytes)`, 200000, () => encodeMessage(msg));
time("raft message decode", 200000, () => decodeMessage(enc));
time("request context: AbortController + setTimeout + clearTimeout", 100000, () => {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 5000);
  clearTimeout(t);
});
const metrics = new ServerMetrics(() => 0);
const labels = { grpc_type: "unary", grpc_service: "etcdserverpb.KV", grpc_method: "Put" };
time("metrics: grpc started + handled counters (prom-client, labelled)", 200000, () => {
  metrics.grpcStarted.inc(labels);
  metrics.grpcHandled.inc({ ...labels, grpc_code: "OK" });
});
await timeAsync("event loop: one setImmediate hop", 20000, () => new Promise((r) => setImmediate(r)));
await timeAsync("event loop: one resolved-promise await (microtask)", 200000, () => Promise.resolve());

const dir = mkdtempSync(join(tmpdir(), "micro-costs-"));
try {
  const buf = Buffer.alloc(384, 7);
  const fd = openSync(join(dir, "sync"), "w");
  await timeAsync("disk: 384-byte pwrite + fdatasync, inline (blocks the loop)", 300, async (i) => {
    writeSync(fd, buf, 0, buf.length, i * buf.length);
    fdatasyncSync(fd);
  });
  closeSync(fd);
  const fh = await open(join(dir, "async"), "w");
  await timeAsync("disk: 384-byte write + datasync through the thread pool (FileHandle)", 300, async (i) => {
    await fh.write(buf, 0, buf.length, i * buf.length);
    await fh.datasync();
  });
  await timeAsync("disk: 384-byte write through the thread pool, no sync (FileHandle)", 3000, async (i) => {
    await fh.write(buf, 0, buf.length, i * buf.length);
  });
  await fh.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`load average ${(await import("node:os")).loadavg().map((x) => x.toFixed(2)).join(" ")}`);
