/**
 * Go's encoding/json scanner (Go 1.19, the toolchain Debian's etcd 3.4.23 is built with), byte by
 * byte: the state machine that decides where a JSON value ends and which syntax error a malformed
 * one gets, with Go's exact texts ("invalid character 'x' looking for beginning of value",
 * "unexpected end of JSON input", "... exceeded max depth"). Hand-written: no npm parser reports
 * Go's wording or works on raw bytes the way Go does (a byte >= 0x80 is quoted as the rune of the
 * same number). Incremental: the state survives between chunks, so a stream is scanned once.
 */

/** What a byte did (Go's scan* constants). */
export const enum Scan {
  Continue,
  BeginLiteral,
  BeginObject,
  ObjectKey,
  ObjectValue,
  EndObject,
  BeginArray,
  ArrayValue,
  EndArray,
  SkipSpace,
  /** The top-level value ended before this byte. */
  End,
  Error,
}

const enum St {
  BeginValueOrEmpty,
  BeginValue,
  BeginStringOrEmpty,
  BeginString,
  EndValue,
  EndTop,
  InString,
  InStringEsc,
  InStringEscU,
  InStringEscU1,
  InStringEscU12,
  InStringEscU123,
  Neg,
  One,
  Zero,
  Dot,
  Dot0,
  E,
  ESign,
  E0,
  T,
  Tr,
  Tru,
  F,
  Fa,
  Fal,
  Fals,
  N,
  Nu,
  Nul,
  Error,
}

const enum Parse {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}

const MAX_NESTING_DEPTH = 10000;

const LITERAL_STEPS: ReadonlyArray<readonly [number, St, string]> = [
  [0x72, St.Tr, "in literal true (expecting 'r')"],
  [0x75, St.Tru, "in literal true (expecting 'u')"],
  [0x65, St.EndValue, "in literal true (expecting 'e')"],
  [0x61, St.Fa, "in literal false (expecting 'a')"],
  [0x6c, St.Fal, "in literal false (expecting 'l')"],
  [0x73, St.Fals, "in literal false (expecting 's')"],
  [0x65, St.EndValue, "in literal false (expecting 'e')"],
  [0x75, St.Nu, "in literal null (expecting 'u')"],
  [0x6c, St.Nul, "in literal null (expecting 'l')"],
  [0x6c, St.EndValue, "in literal null (expecting 'l')"],
];

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** Go's quoteChar: a byte as its syntax errors show it ('x', '\\'', '\\n', '\\x01', 'Ã' for 0xC3). */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const q = goQuoteRune(c);
  return `'${q}'`;
}

/** strconv.Quote of the one rune `r` (< 0x100 here), without the surrounding quotes. */
function goQuoteRune(r: number): string {
  switch (r) {
    case 0x07:
      return "\\a";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x0b:
      return "\\v";
    case 0x5c:
      return "\\\\";
  }
  if (r < 0x20 || r === 0x7f) return `\\x${r.toString(16).padStart(2, "0")}`;
  // U+0080..U+009F are controls; U+00A0 (no-break space) and U+00AD (soft hyphen) are not printable for Go.
  if ((r >= 0x80 && r < 0xa0) || r === 0xa0 || r === 0xad) return `\\u${r.toString(16).padStart(4, "0")}`;
  return String.fromCharCode(r);
}

export class GoScanner {
  private st: St = St.BeginValue;
  private readonly parseState: Parse[] = [];
  /** Whether the top-level value is complete (only spaces may follow). */
  endTop = false;
  /** The syntax error, once one was hit (the scanner then stays in error). */
  err: string | undefined;

  reset(): void {
    this.st = St.BeginValue;
    this.parseState.length = 0;
    this.err = undefined;
    this.endTop = false;
  }

  /** Nesting depth of the value being scanned (0 at the top level). */
  depth(): number {
    return this.parseState.length;
  }

  /** Whether the innermost container is an object whose next token is a key (or its colon). */
  atObjectKey(): boolean {
    return this.parseState[this.parseState.length - 1] === Parse.ObjectKey;
  }

  /** Whether the scanner is inside a string literal (where bytes can be skipped in bulk). */
  inPlainString(): boolean {
    return this.st === St.InString;
  }

  /** Go's scanner.eof: the input ended. */
  eof(): Scan {
    if (this.err !== undefined) return Scan.Error;
    if (this.endTop) return Scan.End;
    this.step(0x20);
    if (this.endTop) return Scan.End;
    if (this.err === undefined) this.err = "unexpected end of JSON input";
    return Scan.Error;
  }

  private error(c: number, context: string): Scan {
    this.st = St.Error;
    this.err = `invalid character ${quoteChar(c)} ${context}`;
    return Scan.Error;
  }

  private push(c: number, ps: Parse, success: Scan): Scan {
    this.parseState.push(ps);
    if (this.parseState.length <= MAX_NESTING_DEPTH) return success;
    return this.error(c, "exceeded max depth");
  }

  private pop(): void {
    this.parseState.pop();
    if (this.parseState.length === 0) {
      this.st = St.EndTop;
      this.endTop = true;
    } else {
      this.st = St.EndValue;
    }
  }

  /** Go's `stateEndValue(s, ' ')` after a closing bracket: whether the top-level value is now complete. */
  endsAfterClose(): boolean {
    return this.parseState.length === 0;
  }

  step(c: number): Scan {
    const st = this.st;
    if (st >= St.InString && st <= St.InStringEscU123) return this.stringState(c);
    if (st >= St.Neg && st <= St.E0) return this.numberState(c);
    if (st >= St.T && st <= St.Nul) return this.literalState(c);
    switch (st) {
      case St.BeginValueOrEmpty:
        if (isSpace(c)) return Scan.SkipSpace;
        if (c === 0x5d) return this.endValue(c);
        return this.beginValue(c);
      case St.BeginValue:
        return this.beginValue(c);
      case St.BeginStringOrEmpty:
        if (isSpace(c)) return Scan.SkipSpace;
        if (c === 0x7d) {
          this.parseState[this.parseState.length - 1] = Parse.ObjectValue;
          return this.endValue(c);
        }
        return this.beginString(c);
      case St.BeginString:
        return this.beginString(c);
      case St.EndValue:
        return this.endValue(c);
      case St.EndTop:
        return this.endTopState(c);
      default:
        return Scan.Error;
    }
  }

  private stringState(c: number): Scan {
    switch (this.st) {
      case St.InString:
        if (c === 0x22) {
          this.st = St.EndValue;
          return Scan.Continue;
        }
        if (c === 0x5c) {
          this.st = St.InStringEsc;
          return Scan.Continue;
        }
        if (c < 0x20) return this.error(c, "in string literal");
        return Scan.Continue;
      case St.InStringEsc:
        if (c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74 || c === 0x5c || c === 0x2f || c === 0x22) {
          this.st = St.InString;
          return Scan.Continue;
        }
        if (c === 0x75) {
          this.st = St.InStringEscU;
          return Scan.Continue;
        }
        return this.error(c, "in string escape code");
      default:
        // the four hex digits of \uXXXX
        if (!isHex(c)) return this.error(c, "in \\u hexadecimal character escape");
        this.st = this.st === St.InStringEscU123 ? St.InString : this.st + 1;
        return Scan.Continue;
    }
  }

  private numberState(c: number): Scan {
    switch (this.st) {
      case St.Neg:
        if (c === 0x30) {
          this.st = St.Zero;
          return Scan.Continue;
        }
        if (c >= 0x31 && c <= 0x39) {
          this.st = St.One;
          return Scan.Continue;
        }
        return this.error(c, "in numeric literal");
      case St.One:
        if (isDigit(c)) return Scan.Continue;
        return this.zero(c);
      case St.Zero:
        return this.zero(c);
      case St.Dot:
        if (isDigit(c)) {
          this.st = St.Dot0;
          return Scan.Continue;
        }
        return this.error(c, "after decimal point in numeric literal");
      case St.Dot0:
        if (isDigit(c)) return Scan.Continue;
        if (c === 0x65 || c === 0x45) {
          this.st = St.E;
          return Scan.Continue;
        }
        return this.endValue(c);
      case St.E:
        if (c === 0x2b || c === 0x2d) {
          this.st = St.ESign;
          return Scan.Continue;
        }
        return this.eSign(c);
      case St.ESign:
        return this.eSign(c);
      default: // St.E0
        if (isDigit(c)) return Scan.Continue;
        return this.endValue(c);
    }
  }

  /** true, false, null after their first letter: [expected byte, next state, Go's context]. */
  private literalState(c: number): Scan {
    const [want, next, context] = LITERAL_STEPS[this.st - St.T]!;
    if (c === want) {
      this.st = next;
      return Scan.Continue;
    }
    return this.error(c, context);
  }

  private beginValue(c: number): Scan {
    if (isSpace(c)) return Scan.SkipSpace;
    switch (c) {
      case 0x7b:
        this.st = St.BeginStringOrEmpty;
        return this.push(c, Parse.ObjectKey, Scan.BeginObject);
      case 0x5b:
        this.st = St.BeginValueOrEmpty;
        return this.push(c, Parse.ArrayValue, Scan.BeginArray);
      case 0x22:
        this.st = St.InString;
        return Scan.BeginLiteral;
      case 0x2d:
        this.st = St.Neg;
        return Scan.BeginLiteral;
      case 0x30:
        this.st = St.Zero;
        return Scan.BeginLiteral;
      case 0x74:
        this.st = St.T;
        return Scan.BeginLiteral;
      case 0x66:
        this.st = St.F;
        return Scan.BeginLiteral;
      case 0x6e:
        this.st = St.N;
        return Scan.BeginLiteral;
    }
    if (c >= 0x31 && c <= 0x39) {
      this.st = St.One;
      return Scan.BeginLiteral;
    }
    return this.error(c, "looking for beginning of value");
  }

  private beginString(c: number): Scan {
    if (isSpace(c)) return Scan.SkipSpace;
    if (c === 0x22) {
      this.st = St.InString;
      return Scan.BeginLiteral;
    }
    return this.error(c, "looking for beginning of object key string");
  }

  private zero(c: number): Scan {
    if (c === 0x2e) {
      this.st = St.Dot;
      return Scan.Continue;
    }
    if (c === 0x65 || c === 0x45) {
      this.st = St.E;
      return Scan.Continue;
    }
    return this.endValue(c);
  }

  private eSign(c: number): Scan {
    if (isDigit(c)) {
      this.st = St.E0;
      return Scan.Continue;
    }
    return this.error(c, "in exponent of numeric literal");
  }

  private endValue(c: number): Scan {
    const n = this.parseState.length;
    if (n === 0) {
      this.st = St.EndTop;
      this.endTop = true;
      return this.endTopState(c);
    }
    if (isSpace(c)) {
      this.st = St.EndValue;
      return Scan.SkipSpace;
    }
    switch (this.parseState[n - 1]!) {
      case Parse.ObjectKey:
        if (c === 0x3a) {
          this.parseState[n - 1] = Parse.ObjectValue;
          this.st = St.BeginValue;
          return Scan.ObjectKey;
        }
        return this.error(c, "after object key");
      case Parse.ObjectValue:
        if (c === 0x2c) {
          this.parseState[n - 1] = Parse.ObjectKey;
          this.st = St.BeginString;
          return Scan.ObjectValue;
        }
        if (c === 0x7d) {
          this.pop();
          return Scan.EndObject;
        }
        return this.error(c, "after object key:value pair");
      case Parse.ArrayValue:
        if (c === 0x2c) {
          this.st = St.BeginValue;
          return Scan.ArrayValue;
        }
        if (c === 0x5d) {
          this.pop();
          return Scan.EndArray;
        }
        return this.error(c, "after array element");
    }
  }

  private endTopState(c: number): Scan {
    // Go records the error but still reports the end of the value (a Decoder ignores it).
    if (!isSpace(c)) this.error(c, "after top-level value");
    return Scan.End;
  }
}

/**
 * Go's checkValid: the syntax error of `data` as one complete JSON text, or undefined if valid
 * (what json.Unmarshal reports before it looks at types).
 */
export function checkValid(data: Uint8Array, from = 0, to = data.length): string | undefined {
  const s = new GoScanner();
  for (let i = from; i < to; i++) {
    if (s.step(data[i]!) === Scan.Error) return s.err;
  }
  if (s.eof() === Scan.Error) return s.err;
  return undefined;
}

/**
 * Index of the first byte at or after `i` (below `end`) that ends or escapes a plain stretch of a
 * string literal: a quote, a backslash or a control byte. Lets callers skip string bodies in bulk.
 */
export function plainStringEnd(buf: Uint8Array, i: number, end: number): number {
  while (i < end) {
    const c = buf[i]!;
    if (c === 0x22 || c === 0x5c || c < 0x20) return i;
    i++;
  }
  return end;
}
