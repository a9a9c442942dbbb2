/**
 * The load generator's KV requests as bytes, ready for bench/h2/channel.ts. A workload sends the same request
 * with another key each time, and every key of a run has the same length (bench/keys.ts pads the index to
 * --key-size digits), so each request is serialized once from this repository's protos (the stubs' own
 * requestSerialize) and then only the key's digits are rewritten in place: no protobuf encoding per request.
 * When an index can be longer than --key-size digits, keys differ in length and each request is serialized.
 */
import { clientConstructor } from "../server/api/proto/load.js";
import { frameMessage } from "./h2/channel.js";
import { keyOf } from "./keys.js";

type Serialize = (req: object) => Buffer;

export const KV_PUT = "/etcdserverpb.KV/Put";
export const KV_RANGE = "/etcdserverpb.KV/Range";
export const KV_TXN = "/etcdserverpb.KV/Txn";

function serializer(method: "Put" | "Range" | "Txn"): Serialize {
  const def = clientConstructor("etcdserverpb", "KV").service[method]!;
  return def.requestSerialize as Serialize;
}

/**
 * index → the framed request for the key `keyOf(prefix, index, keySize)`. The returned buffer is reused by
 * the next call: hand it to the channel (which copies it) before asking for another.
 */
export function keyedRequest(method: "Put" | "Range" | "Txn", fields: (key: Buffer) => object, prefix: string, keySize: number, keySpaceSize: number): (index: number) => Buffer {
  const serialize = serializer(method);
  const width = Math.max(1, keySize);
  if (String(Math.max(0, keySpaceSize - 1)).length > width) return (i) => frameMessage(serialize(fields(keyOf(prefix, i, keySize))));
  const key0 = keyOf(prefix, 0, keySize);
  const template = frameMessage(serialize(fields(key0)));
  const at = template.indexOf(key0);
  if (at < 0 || template.indexOf(key0, at + 1) >= 0) throw new Error(`${method}: the key does not appear exactly once in the encoded request`);
  const digitsEnd = at + key0.length;
  return (index) => {
    let v = index;
    for (let p = digitsEnd - 1; p >= digitsEnd - width; p--) {
      template[p] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
    return template;
  };
}

/** A request that is the same every time (a prefix range). */
export function fixedRequest(method: "Put" | "Range" | "Txn", fields: object): Buffer {
  return frameMessage(serializer(method)(fields));
}
