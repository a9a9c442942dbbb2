/** Key and value layout shared by the load generators, the preloading step and the read-back checks. */

/** Every key the benchmark writes starts with this, followed by the run id. */
export const KEY_ROOT = "bench/";

/** "<prefix><index padded to keySize digits>": --key-size is the length of the part after the prefix. */
export function keyOf(prefix: string, index: number, keySize: number): Buffer {
  return Buffer.from(prefix + String(index).padStart(Math.max(1, keySize), "0"));
}

/** A value of exactly valSize bytes (printable, so the HTTP gateway's JSON stays readable). */
export function valueOf(valSize: number, seed = 0): Buffer {
  const b = Buffer.alloc(Math.max(0, valSize));
  for (let i = 0; i < b.length; i++) b[i] = 97 + ((i * 7 + seed) % 26);
  return b;
}
