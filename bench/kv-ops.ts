/**
 * The requests of the KV runner (put, range, txn-mixed) on the load generator's own gRPC client
 * (bench/h2/): --conns BalancedConnections, client c on connection c % conns, each request to the next
 * endpoint of its connection. See bench/README.md "How load is generated" for why not grpc-js.
 */
import { prefixEnd } from "./etcd-client.js";
import { BalancedConnection } from "./h2/balanced.js";
import { valueOf } from "./keys.js";
import { fixedRequest, keyedRequest, KV_PUT, KV_RANGE, KV_TXN } from "./kv-requests.js";
import type { LoadJob } from "./load-job.js";

/** One request on client `client`'s connection; resolves with the op it counts under (a string), if any. */
export type OpFn = (client: number) => Promise<unknown>;

export interface KvRunner {
  op: OpFn;
  close(): void;
}

/** This process's connections (job.channelIds), each over every endpoint of the job, connected. */
export async function openConnections(j: LoadJob): Promise<BalancedConnection[]> {
  const opts = { timeoutMs: j.timeoutMs, connectTimeoutMs: Math.max(3000, j.timeoutMs) };
  const conns = j.channelIds.map((id) => new BalancedConnection(j.endpoints, opts, id));
  try {
    await Promise.all(conns.map((c) => c.ready()));
  } catch (e) {
    for (const c of conns) c.close();
    throw e;
  }
  return conns;
}

export async function kvRunner(j: LoadJob): Promise<KvRunner> {
  const conns = await openConnections(j);
  const connOf = (c: number) => conns[c % conns.length]!;
  const value = valueOf(j.valSize);
  const prefix = Buffer.from(j.keyPrefix);
  const end = prefixEnd(prefix);
  let seq = 0;
  const nextIndex = () => (j.sequentialKeys ? (j.keyOffset + seq++) % j.keySpaceSize : Math.floor(Math.random() * j.keySpaceSize));
  const randomIndex = () => Math.floor(Math.random() * j.keySpaceSize);
  const keyed = (m: "Put" | "Range" | "Txn", fields: (key: Buffer) => object) => keyedRequest(m, fields, j.keyPrefix, j.keySize, j.keySpaceSize);
  const close = () => conns.forEach((c) => c.close());
  switch (j.op) {
    case "put": {
      const put = keyed("Put", (key) => ({ key, value }));
      return { op: (c) => connOf(c).unary(KV_PUT, put(nextIndex())), close };
    }
    case "range": {
      if (j.rangeMode === "point") {
        const range = keyed("Range", (key) => ({ key, serializable: j.serializable }));
        return { op: (c) => connOf(c).unary(KV_RANGE, range(randomIndex())), close };
      }
      const req = fixedRequest("Range", { key: prefix, range_end: end, limit: j.limit, serializable: j.serializable, keys_only: j.keysOnly, count_only: j.countOnly });
      return { op: (c) => connOf(c).unary(KV_RANGE, req), close };
    }
    case "txn-mixed": {
      const readShare = j.rwRatio / (1 + j.rwRatio);
      const read = fixedRequest("Txn", { compare: [], success: [{ request_range: { key: prefix, range_end: end, limit: j.limit, serializable: j.serializable } }], failure: [] });
      const write = keyed("Txn", (key) => ({ compare: [], success: [{ request_put: { key, value } }], failure: [] }));
      return {
        op: (c) => {
          const isRead = Math.random() < readShare;
          const tag = isRead ? "read" : "write";
          return connOf(c)
            .unary(KV_TXN, isRead ? read : write(nextIndex()))
            .then(
              () => tag,
              // Tagged so that the failure counts under its op too (see closedLoop).
              (e: unknown) => Promise.reject(Object.assign(e as object, { op: tag })),
            );
        },
        close,
      };
    }
    default:
      throw new Error(`no KV runner for load op ${j.op}`);
  }
}
