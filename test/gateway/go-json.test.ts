import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { GoJsonDecoder, type FrameEvent } from "../../server/api/http/go-json-stream.js";
import { checkValid } from "../../server/api/http/go-json-scanner.js";
import { goBase64Decode } from "../../server/api/http/go-base64.js";
import { goJsonString, goJsonStringify, goQuote, goUnquote } from "../../server/api/http/go-strings.js";

/**
 * The Go pieces of the gateway's request decoding, against texts real etcd 3.4.23 (Go 1.19)
 * answered (each expected string below was checked against it; test/e2e/gateway-* compares live).
 */

const b = (s: string | number[]) => (typeof s === "string" ? Buffer.from(s, "latin1") : Buffer.from(s));

/** Every event the framer produces for `body` cut into chunks of `size` bytes. */
function frame(body: Buffer, size = body.length || 1, max = 1 << 20, known?: (k: string) => boolean): FrameEvent[] {
  const d = new GoJsonDecoder(max, known);
  const out: FrameEvent[] = [];
  for (let i = 0; i < body.length; i += size) out.push(...d.push(body.subarray(i, i + size)));
  if (!out.some((e) => e.kind === "error")) out.push(...d.end());
  return out;
}

const shown = (evs: FrameEvent[]) =>
  evs.map((e) => (e.kind === "value" ? `value ${e.bytes.toString("latin1")}` : e.kind === "error" ? `error ${e.message}` : e.kind === "oversized" ? `oversized ${e.size}` : "eof"));

describe("Go's json.Decoder framing", () => {
  const cases: Array<[string | number[], string[]]> = [
    ["", ["eof"]],
    ["  \n\t ", ["eof"]],
    ['{"a":1}', ['value {"a":1}', "eof"]],
    [' {"a":1} {"b":[2]}\n', ['value {"a":1}', 'value {"b":[2]}', "eof"]],
    ['{"a":1}{', ['value {"a":1}', "error unexpected EOF"]],
    ["5", ["value 5", "eof"]],
    ["5{}", ["value 5", "value {}", "eof"]],
    ['"a"x', ['value "a"', "error invalid character 'x' looking for beginning of value"]],
    ["{nope", ["error invalid character 'n' looking for beginning of object key string"]],
    ["[1,", ["error unexpected EOF"]],
    ["-", ["error unexpected EOF"]],
    ["tru", ["error unexpected EOF"]],
    ["trux", ["error invalid character 'x' in literal true (expecting 'e')"]],
    ["nul", ["error unexpected EOF"]],
    ["1.x", ["error invalid character 'x' after decimal point in numeric literal"]],
    ['{"a":1e+}', ["error invalid character '}' in exponent of numeric literal"]],
    ['"\\q"', ["error invalid character 'q' in string escape code"]],
    ['"\\u12G4"', ["error invalid character 'G' in \\u hexadecimal character escape"]],
    ['{"key":"YQ==",}', ["error invalid character '}' looking for beginning of object key string"]],
    ['{"key" "x"}', ["error invalid character '\"' after object key"]],
    ['{"key":"YQ==" , "value": [1 2]}', ["error invalid character '2' after array element"]],
    ['{"a":1 "b"}', ["error invalid character '\"' after object key:value pair"]],
    // a byte >= 0x80 is shown as the rune of the same number: 'é' (C3 A9) starts with 'Ã'
    [[0xc3, 0xa9], ["error invalid character '\u00c3' looking for beginning of value"]],
    [[0xe9], ["error invalid character '\u00e9' looking for beginning of value"]],
    [[0xa0], ["error invalid character '\\u00a0' looking for beginning of value"]],
    [[0xad], ["error invalid character '\\u00ad' looking for beginning of value"]],
    [[0x01], ["error invalid character '\\x01' looking for beginning of value"]],
    [[0x7f], ["error invalid character '\\x7f' looking for beginning of value"]],
    ["'", ["error invalid character '\\'' looking for beginning of value"]],
    ['"a\nb"', ["error invalid character '\\n' in string literal"]],
    ["[".repeat(10001), ["error invalid character '[' exceeded max depth"]],
  ];
  for (const [body, want] of cases) {
    test(`${JSON.stringify(typeof body === "string" ? body.slice(0, 40) : body)}`, () => {
      const bytes = b(body);
      assert.deepEqual(shown(frame(bytes)), want);
      // the same answer whatever the chunking (the state survives between chunks)
      assert.deepEqual(shown(frame(bytes, 1)), want);
      assert.deepEqual(shown(frame(bytes, 3)), want);
    });
  }

  test("a value over the limit is scanned to its end and reported by size only; the next value is read normally", () => {
    const big = `{"key":"${"A".repeat(100)}"}`;
    assert.deepEqual(shown(frame(b(`${big} {"a":1}`), 7, 50)), [`oversized ${big.length}`, 'value {"a":1}', "eof"]);
    // a syntax error later in an oversized value still wins, as Go reads the whole value first
    assert.deepEqual(shown(frame(b(`{"key":"${"A".repeat(100)}" x}`), 7, 50)), ["error invalid character 'x' after object key:value pair"]);
  });

  test("top-level fields the request does not have are scanned, not kept, and do not count against the limit", () => {
    const known = (k: string) => k === "key" || k === "value";
    const body = b(`{"key":"YQ==", "pad" : "${"A".repeat(500)}","k\\u0065y":[1,{"x":"}"}],"value":"dg==","p2":{"a":[{}]}}`);
    for (const size of [1, 2, 7, body.length]) {
      assert.deepEqual(shown(frame(body, size, 80, known)), ['value {"key":"YQ==", "":0,"k\\u0065y":[1,{"x":"}"}],"value":"dg==","":0}', "eof"], `chunks of ${size}`);
    }
    // a syntax error inside a dropped field still counts
    assert.deepEqual(shown(frame(b('{"pad":[1,}'), 3, 80, known)), ["error invalid character '}' looking for beginning of value"]);
    // an unknown key longer than any name, and an empty object or one with only unknown fields
    assert.deepEqual(shown(frame(b(`{"${"k".repeat(300)}":1}{}{"x":null}`), 5, 1000, known)), ['value {"":0}', "value {}", 'value {"":0}', "eof"]);
  });

  test("a long body is framed in one pass: no value kept beyond its end", () => {
    const d = new GoJsonDecoder(1 << 20);
    let values = 0;
    for (let i = 0; i < 2000; i++) values += d.push(b('{"ID":"1"}\n')).length;
    assert.equal(values, 2000);
    assert.equal(d.pendingBytes(), 0);
  });
});

describe("Go's checkValid (a number given as a JSON string)", () => {
  const cases: Array<[string, string | undefined]> = [
    ["1", undefined],
    [" 0 ", undefined],
    ["null", undefined],
    ["", "unexpected end of JSON input"],
    ["abc", "invalid character 'a' looking for beginning of value"],
    ["0 1", "invalid character '1' after top-level value"],
    ["01", "invalid character '1' after top-level value"],
    ["+1", "invalid character '+' looking for beginning of value"],
    ["\\u0030", "invalid character '\\\\' looking for beginning of value"],
    ["[1", "unexpected end of JSON input"],
    // at the end Go steps a space through the scanner: a cut-off number reports that space
    ["1.", "invalid character ' ' after decimal point in numeric literal"],
    ["-", "invalid character ' ' in numeric literal"],
    ["t", "invalid character ' ' in literal true (expecting 'r')"],
  ];
  for (const [text, want] of cases) test(JSON.stringify(text), () => assert.equal(checkValid(b(text)), want));
});

describe("Go's base64.StdEncoding", () => {
  const cases: Array<[string, string]> = [
    ["", "ok "],
    ["Zm9v", "ok foo"],
    ["Zm8=", "ok fo"],
    ["Zm9vYg==", "ok foob"],
    ["Zm9v\n", "ok foo"],
    ["Zm9v\r\nYmFy", "ok foobar"],
    ["Zm\n9v", "ok foo"],
    ["Zm9", "illegal base64 data at input byte 0"],
    ["Z", "illegal base64 data at input byte 0"],
    ["Zm8", "illegal base64 data at input byte 0"],
    ["Zm9v_-", "illegal base64 data at input byte 4"],
    ["Zm9vYg", "illegal base64 data at input byte 4"],
    ["Zm9vYg=", "illegal base64 data at input byte 7"],
    ["Zm9vYg===", "illegal base64 data at input byte 8"],
    ["Zm9v YmFy", "illegal base64 data at input byte 4"],
    ["=Zm9", "illegal base64 data at input byte 0"],
    ["Zm==Zm9v", "illegal base64 data at input byte 4"],
  ];
  for (const [src, want] of cases) {
    test(JSON.stringify(src), () => {
      const r = goBase64Decode(b(src));
      assert.equal(r.ok ? `ok ${r.bytes.toString("latin1")}` : r.message, want);
    });
  }
});

describe("Go's string handling", () => {
  test("unquote: escapes, surrogate pairs, U+FFFD for lone surrogates and each invalid byte", () => {
    const u = (s: string | number[]) => {
      const x = b(s);
      return goUnquote(x, 0, x.length);
    };
    assert.deepEqual(u('"abc"'), b("abc"));
    assert.deepEqual(u('"a\\"b\\\\c\\/\\n\\t"'), b('a"b\\c/\n\t'));
    assert.deepEqual(u('"\\u00e9"'), Buffer.from("é"));
    assert.deepEqual(u('"\\ud83d\\ude00"'), Buffer.from("😀"));
    assert.deepEqual(u('"\\ud800x"'), Buffer.from("\ufffdx"));
    assert.deepEqual(u([0x22, 0xe2, 0x82, 0x22]), Buffer.from("\ufffd\ufffd"));
  });

  test("strconv.Quote (jsonpb's %q)", () => {
    assert.equal(goQuote(b("ascend")), '"ascend"');
    assert.equal(goQuote(b("V\\u0041")), '"V\\\\u0041"');
    assert.equal(goQuote(b('a\\"b')), '"a\\\\\\"b"');
    assert.equal(goQuote(Buffer.from("€😀é")), '"€😀é"');
    assert.equal(goQuote(b([0xff, 0xfe, 0xe2, 0x82])), '"\\xff\\xfe\\xe2\\x82"');
    assert.equal(goQuote(Buffer.from("\u00a0\u00ad\u200b")), '"\\u00a0\\u00ad\\u200b"');
    assert.equal(goQuote(b([0x07, 0x00, 0x7f])), '"\\a\\x00\\x7f"');
  });

  test("encoding/json's string output is HTML-safe", () => {
    assert.equal(goJsonString('<a href="x">&</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"');
    assert.equal(goJsonString("\u2028\u0001\n\u007f"), '"\\u2028\\u0001\\n\u007f"');
    assert.equal(goJsonString("\ud800"), '"\\ufffd"');
    // whole bodies: the same escapes, also where a backslash precedes them
    const tricky = { a: "\b\f<x>&\u2028\ud800 \\b \\\b \udc00\ud83d\ude00", "k<": ["\\f"] };
    assert.equal(goJsonStringify(tricky), `{"a":"\\u0008\\u000c\\u003cx\\u003e\\u0026\\u2028\\ufffd \\\\b \\\\\\u0008 \\ufffd😀","k\\u003c":["\\\\f"]}`);
    assert.deepEqual(JSON.parse(goJsonStringify(tricky)), JSON.parse(JSON.stringify(tricky).replace(/\\ud[89abcdef]\w\w/gi, "\\ufffd")));
  });
});
