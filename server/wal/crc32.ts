/**
 * CRC-32 (IEEE 802.3 / zlib polynomial 0xEDB88320, reflected, init and final xor 0xFFFFFFFF).
 *
 * Why CRC-32 and not etcd's CRC-32C: Node ships a native, SIMD-accelerated CRC-32 as `zlib.crc32`
 * (Node >= 20.15 / 22.2), and nothing for CRC-32C. Both detect every burst error up to 32 bits and
 * every odd number of bit flips; for the record sizes of a WAL (bytes to a few MiB) their
 * practical strength is the same, while a JavaScript CRC-32C would cost ~10x the CPU of the native
 * CRC-32 on every save() and on every open(). On an older Node 20 without `zlib.crc32` the
 * table-driven fallback below computes the very same values, so files stay portable.
 *
 * Chaining follows zlib: crc32(b, crc32(a)) === crc32(a ++ b).
 */
import * as zlib from "node:zlib";

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The pure JavaScript implementation (exported for tests; used when zlib.crc32 is missing). */
export function crc32Js(data: Uint8Array, seed = 0): number {
  let c = ~seed >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

type Crc32Fn = (data: Uint8Array, seed?: number) => number;

const native = (zlib as unknown as { crc32?: (data: NodeJS.ArrayBufferView, value?: number) => number }).crc32;

/** True when the native zlib.crc32 is in use. */
export const CRC32_NATIVE: boolean = typeof native === "function";

export const crc32: Crc32Fn = CRC32_NATIVE
  ? (data, seed = 0) => native!(data, seed) >>> 0
  : crc32Js;
