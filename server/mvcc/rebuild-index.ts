import type { Bucket } from "../backend/backend.js";
import { KeyIndex } from "./key-index.js";
import { decodeKeyValue } from "./kv-codec.js";
import { bytesToMain, bytesToSub, isTombstoneKey } from "./revision.js";
import { keyString, TreeIndex } from "./tree-index.js";

/**
 * The key index rebuilt from the key bucket at open (etcd's restore): every revision row in order,
 * each key's generations from its puts and tombstones; also the newest revision, and the lease of
 * every live leased key (for the lessor to re-attach).
 */
export function rebuildIndex(keys: Bucket): { index: TreeIndex; currentRev: number; keyToLease: Map<string, { lease: bigint; key: Buffer }> } {
  const index = new TreeIndex();
  const keyToLease = new Map<string, { lease: bigint; key: Buffer }>();
  let currentRev = 1;
  for (const { key, value } of keys.getRange({})) {
    const main = bytesToMain(key);
    const sub = bytesToSub(key);
    const tomb = isTombstoneKey(key);
    const kv = decodeKeyValue(value);
    const ks = keyString(kv.key);
    currentRev = main;
    const ki = index.keyIndex(ks);
    if (ki) {
      if (tomb) ki.tombstone(main, sub);
      else ki.put(main, sub);
    } else if (!tomb) {
      const nki = new KeyIndex(ks);
      nki.restore(kv.createRevision, main, sub, kv.version);
      index.insert(nki);
    }
    if (tomb || kv.lease === 0n) keyToLease.delete(ks);
    else keyToLease.set(ks, { lease: kv.lease, key: Buffer.from(kv.key) });
  }
  return { index, currentRev, keyToLease };
}
