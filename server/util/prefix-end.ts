/**
 * The smallest key greater than every key with this prefix: etcd's range end for a prefix
 * (clientv3.GetPrefixRangeEnd). A prefix of only 0xff bytes (or empty) gives [0]: every key.
 */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
