// Minimal typing for hpack.js 2 (it ships none), covering what bench/h2/hpack.ts uses.
declare module "hpack.js" {
  import type { Duplex } from "node:stream";
  interface DecodedField {
    name: string;
    value: string;
    neverIndex: boolean;
  }
  interface Decompressor extends Duplex {
    write(chunk: Buffer): boolean;
    /** Decodes what was written; throws (or calls back with) an error on a malformed block. */
    execute(cb?: (err: Error | null) => void): void;
    read(): DecodedField | null;
  }
  const hpack: {
    decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
  };
  export default hpack;
}
