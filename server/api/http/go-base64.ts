/**
 * Go's base64.StdEncoding.Decode (Go 1.19), which encoding/json uses for []byte fields: the
 * standard alphabet with '=' padding required, '\r' and '\n' skipped anywhere, nothing else
 * accepted (no URL-safe alphabet, no missing padding), and Go's error offset in
 * "illegal base64 data at input byte N". Node's decoder accepts all of these silently.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const PAD = 0x3d;
const isNewline = (c: number) => c === 0x0a || c === 0x0d;

export type Base64Result = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly message: string };

const corrupt = (at: number): Base64Result => ({ ok: false, message: `illegal base64 data at input byte ${at}` });

/** Decodes src as Go does; on error, Go's message (the bytes decoded before it are discarded, as encoding/json does). */
export function goBase64Decode(src: Uint8Array): Base64Result {
  const out = Buffer.allocUnsafe(Math.floor(src.length / 4) * 3);
  let n = 0;
  let si = 0;
  const len = src.length;
  while (si < len) {
    // one quantum: up to 4 symbols, newlines skipped (Go's decodeQuantum)
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailing = -1;
    for (let j = 0; j < 4; j++) {
      if (si === len) {
        if (j === 0) return { ok: true, bytes: out.subarray(0, n) };
        return corrupt(si - j); // StdEncoding pads: a short final quantum is an error
      }
      const c = src[si]!;
      si++;
      const v = DECODE[c]!;
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== PAD) return corrupt(si - 1);
      // padding: the end of the data
      if (j < 2) return corrupt(si - 1);
      if (j === 2) {
        while (si < len && isNewline(src[si]!)) si++;
        if (si === len) return corrupt(len);
        if (src[si] !== PAD) return corrupt(si - 1);
        si++;
      }
      while (si < len && isNewline(src[si]!)) si++;
      if (si < len) trailing = si;
      dlen = j;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    if (dlen >= 2) out[n++] = (val >> 16) & 0xff;
    if (dlen >= 3) out[n++] = (val >> 8) & 0xff;
    if (dlen === 4) out[n++] = val & 0xff;
    if (trailing >= 0) return corrupt(trailing);
    if (dlen < 4) return { ok: true, bytes: out.subarray(0, n) };
  }
  return { ok: true, bytes: out.subarray(0, n) };
}
