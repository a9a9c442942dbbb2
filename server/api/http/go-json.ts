/**
 * How etcd's gateway (grpc-gateway v1: Go's json.Decoder, then jsonpb) reads a request body, with
 * Go's error texts: only the first JSON value counts (trailing bytes are ignored), an empty body is
 * an empty request, a cut-off value is "unexpected EOF", and a syntax error is encoding/json's
 * "invalid character 'x' looking for beginning of value". Hand-written: a port of the few states of
 * Go's JSON scanner that decide these texts; no npm parser reports Go's wording.
 */

type Ctx = "object-key" | "object-value" | "array";

export type GoJsonResult = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string };

const isSpace = (c: string) => c === " " || c === "\t" || c === "\r" || c === "\n";
const isDigit = (c: string) => c >= "0" && c <= "9";
const isHex = (c: string) => isDigit(c) || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");

/** Go's quoteChar: the offending character as the error text shows it. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  const q = JSON.stringify(c);
  return `'${q.slice(1, -1)}'`;
}

class GoSyntaxError extends Error {}

const fail = (c: string, context: string): never => {
  throw new GoSyntaxError(`invalid character ${quoteChar(c)} ${context}`);
};

/** Index just past the first JSON value of `s` (from `i`), or throws Go's syntax error; -1 if the input ends first. */
function scanValue(s: string, i: number): number {
  const stack: Ctx[] = [];
  let p = i;
  const at = () => (p < s.length ? s[p]! : undefined);
  const literal = (word: string, name: string) => {
    for (let k = 1; k < word.length; k++) {
      const c = at();
      if (c === undefined) return false;
      if (c !== word[k]) fail(c, `in literal ${name} (expecting ${quoteChar(word[k]!)})`);
      p++;
    }
    return true;
  };
  const number = (): boolean => {
    if (at() === "-") {
      p++;
      const c = at();
      if (c === undefined) return false;
      if (!isDigit(c)) fail(c, "in numeric literal");
    }
    if (at() === "0") p++;
    else while (at() !== undefined && isDigit(at()!)) p++;
    if (at() === ".") {
      p++;
      const c = at();
      if (c === undefined) return false;
      if (!isDigit(c)) fail(c, "after decimal point in numeric literal");
      while (at() !== undefined && isDigit(at()!)) p++;
    }
    if (at() === "e" || at() === "E") {
      p++;
      if (at() === "+" || at() === "-") p++;
      const c = at();
      if (c === undefined) return false;
      if (!isDigit(c)) fail(c, "in exponent of numeric literal");
      while (at() !== undefined && isDigit(at()!)) p++;
    }
    // a top-level number ends at the input's end; inside a container the next byte decides
    return true;
  };
  const string = (): boolean => {
    p++; // opening quote
    for (;;) {
      const c = at();
      if (c === undefined) return false;
      p++;
      if (c === '"') return true;
      if (c === "\\") {
        const e = at();
        if (e === undefined) return false;
        p++;
        if (e === "u") {
          for (let k = 0; k < 4; k++) {
            const h = at();
            if (h === undefined) return false;
            if (!isHex(h)) fail(h, "in \\u hexadecimal character escape");
            p++;
          }
        } else if (!'bfnrt\\/"'.includes(e)) fail(e, "in string escape code");
      } else if (c < " ") fail(c, "in string literal");
    }
  };
  /** One value at p: containers push and return; scalars are consumed. */
  const beginValue = (allowClose: boolean): boolean | "closed" => {
    while (at() !== undefined && isSpace(at()!)) p++;
    const c = at();
    if (c === undefined) return false;
    if (allowClose && c === "]") {
      p++;
      stack.pop();
      return "closed";
    }
    if (c === "{") {
      p++;
      stack.push("object-key");
      while (at() !== undefined && isSpace(at()!)) p++;
      const k = at();
      if (k === undefined) return false;
      if (k === "}") {
        p++;
        stack.pop();
        return "closed";
      }
      if (k !== '"') fail(k, "looking for beginning of object key string");
      return string();
    }
    if (c === "[") {
      p++;
      stack.push("array");
      return beginValue(true);
    }
    if (c === '"') return string();
    if (c === "-" || isDigit(c)) return number();
    if (c === "t") return (p++, literal("true", "true"));
    if (c === "f") return (p++, literal("false", "false"));
    if (c === "n") return (p++, literal("null", "null"));
    return fail(c, "looking for beginning of value");
  };
  let r = beginValue(false);
  for (;;) {
    if (r === false) return -1;
    if (stack.length === 0) return p;
    while (at() !== undefined && isSpace(at()!)) p++;
    const c = at();
    if (c === undefined) return -1;
    const top = stack[stack.length - 1]!;
    p++;
    if (top === "object-key") {
      if (c !== ":") fail(c, "after object key");
      stack[stack.length - 1] = "object-value";
      r = beginValue(false);
    } else if (top === "object-value") {
      if (c === ",") {
        stack[stack.length - 1] = "object-key";
        while (at() !== undefined && isSpace(at()!)) p++;
        const k = at();
        if (k === undefined) return -1;
        if (k !== '"') fail(k, "looking for beginning of object key string");
        r = string();
      } else if (c === "}") {
        stack.pop();
        r = true;
      } else fail(c, "after object key:value pair");
    } else {
      if (c === ",") r = beginValue(false);
      else if (c === "]") {
        stack.pop();
        r = true;
      } else fail(c, "after array element");
    }
  }
}

const GO_KIND: Record<string, string> = { string: "string", number: "number", boolean: "bool" };

/** The request object in `body` as etcd's gateway reads it (an empty body or `null` is an empty request). */
export function decodeGatewayJson(body: string): GoJsonResult {
  let start = 0;
  while (start < body.length && isSpace(body[start]!)) start++;
  if (start === body.length) return { ok: true, value: {} };
  let end: number;
  try {
    end = scanValue(body, start);
  } catch (e) {
    if (e instanceof GoSyntaxError) return { ok: false, message: e.message };
    throw e;
  }
  if (end < 0) return { ok: false, message: "unexpected EOF" };
  const value: unknown = JSON.parse(body.slice(start, end));
  if (value === null) return { ok: true, value: {} };
  if (Array.isArray(value)) return { ok: false, message: "json: cannot unmarshal array into Go value of type map[string]json.RawMessage" };
  if (typeof value !== "object") return { ok: false, message: `json: cannot unmarshal ${GO_KIND[typeof value] ?? typeof value} into Go value of type map[string]json.RawMessage` };
  return { ok: true, value };
}
