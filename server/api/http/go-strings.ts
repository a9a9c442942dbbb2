/**
 * Go's string handling where the gateway's answers depend on it, on raw bytes: encoding/json's
 * unquote (escapes, and U+FFFD for each invalid UTF-8 byte or lone surrogate), strconv.Quote (the
 * `%q` in jsonpb's "unknown value %q for enum" error) and encoding/json's string output (HTML-safe
 * escapes, as the gateway writes every JSON body).
 */

const REPLACEMENT = 0xfffd;

/** utf8.DecodeRune: the rune at b[i] and its size; an invalid sequence is (U+FFFD, 1). */
export function decodeRune(b: Uint8Array, i: number, end = b.length): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < end && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(1) ? [((c0 & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2] : [REPLACEMENT, 1];
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    if (cont(1, lo, hi) && cont(2)) return [((c0 & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f), 3];
    return [REPLACEMENT, 1];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      return [((c0 & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f), 4];
    }
  }
  return [REPLACEMENT, 1];
}

function encodeRune(out: number[], r: number): void {
  if (r < 0x80) out.push(r);
  else if (r < 0x800) out.push(0xc0 | (r >> 6), 0x80 | (r & 0x3f));
  else if (r < 0x10000) out.push(0xe0 | (r >> 12), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
  else out.push(0xf0 | (r >> 18), 0x80 | ((r >> 12) & 0x3f), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
}

function hex4(b: Uint8Array, i: number, end: number): number {
  if (i + 6 > end || b[i] !== 0x5c || b[i + 1] !== 0x75) return -1;
  let r = 0;
  for (let k = 2; k < 6; k++) {
    const c = b[i + k]!;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    r = r * 16 + d;
  }
  return r;
}

const SHORT_ESCAPES: Record<number, number> = { 0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x27: 0x27, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

/**
 * encoding/json's unquoteBytes of a valid JSON string literal b[start, end) (quotes included):
 * the bytes Go decodes it to.
 */
export function goUnquote(b: Uint8Array, start: number, end: number): Buffer {
  const from = start + 1;
  const to = end - 1;
  let plain = true;
  for (let i = from; i < to; ) {
    const c = b[i]!;
    if (c === 0x5c) {
      plain = false;
      break;
    }
    if (c < 0x80) {
      i++;
      continue;
    }
    const [r, size] = decodeRune(b, i, to);
    if (r === REPLACEMENT && size === 1) {
      plain = false;
      break;
    }
    i += size;
  }
  if (plain) return Buffer.from(b.buffer, b.byteOffset + from, to - from);
  const out: number[] = [];
  for (let i = from; i < to; ) {
    const c = b[i]!;
    if (c === 0x5c) {
      const e = b[i + 1]!;
      if (e !== 0x75) {
        out.push(SHORT_ESCAPES[e]!);
        i += 2;
        continue;
      }
      let r = hex4(b, i, to);
      i += 6;
      if (r >= 0xd800 && r < 0xe000) {
        const r1 = hex4(b, i, to);
        if (r < 0xdc00 && r1 >= 0xdc00 && r1 < 0xe000) {
          encodeRune(out, 0x10000 + ((r - 0xd800) << 10) + (r1 - 0xdc00));
          i += 6;
          continue;
        }
        r = REPLACEMENT;
      }
      encodeRune(out, r);
    } else if (c < 0x80) {
      out.push(c);
      i++;
    } else {
      const [r, size] = decodeRune(b, i, to);
      encodeRune(out, r);
      i += size;
    }
  }
  return Buffer.from(out);
}

/** Go's unicode.IsPrint (letters, marks, numbers, punctuation, symbols and the ASCII space). */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** strconv.Quote of the bytes b (as `%q` prints a []byte). */
export function goQuote(b: Uint8Array): string {
  let s = '"';
  for (let i = 0; i < b.length; ) {
    const [r, size] = decodeRune(b, i);
    i += size;
    if (size === 1 && r === REPLACEMENT) {
      s += `\\x${b[i - 1]!.toString(16).padStart(2, "0")}`;
      continue;
    }
    if (r === 0x22 || r === 0x5c) {
      s += `\\${String.fromCharCode(r)}`;
      continue;
    }
    const ch = String.fromCodePoint(r);
    if (PRINTABLE.test(ch)) {
      s += ch;
      continue;
    }
    const esc: Record<number, string> = { 0x07: "\\a", 0x08: "\\b", 0x0c: "\\f", 0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x0b: "\\v" };
    if (esc[r] !== undefined) s += esc[r];
    else if (r < 0x20 || r === 0x7f) s += `\\x${r.toString(16).padStart(2, "0")}`;
    else if (r < 0x10000) s += `\\u${r.toString(16).padStart(4, "0")}`;
    else s += `\\U${r.toString(16).padStart(8, "0")}`;
  }
  return s + '"';
}

/** A JS string as encoding/json writes it (HTML-safe: <, >, & escaped; U+2028/9 escaped; lone surrogates as U+FFFD). */
export function goJsonString(s: string): string {
  let out = '"';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20 || c === 0x22 || c === 0x5c || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      esc = c === 0x22 ? '\\"' : c === 0x5c ? "\\\\" : c === 0x0a ? "\\n" : c === 0x0d ? "\\r" : c === 0x09 ? "\\t" : `\\u${c.toString(16).padStart(4, "0")}`;
    } else if (c >= 0xd800 && c < 0xe000) {
      const pair = c < 0xdc00 && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) < 0xe000;
      if (pair) {
        i++;
        continue;
      }
      esc = "\\ufffd";
    }
    if (esc !== undefined) {
      out += s.slice(last, i) + esc;
      last = i + 1;
    }
  }
  return out + s.slice(last) + '"';
}

/**
 * What encoding/json changes in JSON.stringify's output: HTML characters, U+2028/9, \b and \f as
 * \u escapes, and lone surrogates (JSON.stringify escapes them) as U+FFFD. An escaped backslash is
 * matched first so that what follows it is never taken for an escape.
 */
const GO_DIFFERS = /\\\\|[<>&\u2028\u2029]|\\([bf]|u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|u[dD][c-fC-F][0-9a-fA-F]{2})/g;

function goEscape(m: string): string {
  if (m === "\\\\") return m;
  if (m.length === 1) return `\\u${m.charCodeAt(0).toString(16).padStart(4, "0")}`;
  if (m === "\\b") return "\\u0008";
  if (m === "\\f") return "\\u000c";
  // a surrogate pair written as escapes stays; a lone surrogate becomes U+FFFD
  return m.length === 12 ? m : "\\ufffd";
}

/** JSON.stringify with Go's string escaping (the gateway's bodies: objects, arrays, strings, numbers, booleans). */
export function goJsonStringify(v: unknown): string {
  return (JSON.stringify(v) ?? "null").replace(GO_DIFFERS, goEscape);
}
