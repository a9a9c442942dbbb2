/**
 * The import graph of `server/` follows the layers of `layers.ts`: no arrow from a lower layer to a
 * higher one, no import between independent siblings, no cycle, pure layers free of I/O and clocks.
 * Imports are read with TypeScript's own pre-processor (static, type-only, re-exports and dynamic).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { packageRoot } from "../../server/util/package-root.js";
import { LAYERS, type Layer } from "./layers.js";

const ROOT = join(packageRoot(), "server");

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(relative(ROOT, p));
  }
  return out.sort();
}

/** The folder a file belongs to: the longest folder of the table that contains it. */
function folderOf(file: string): string | undefined {
  let best: string | undefined;
  for (const l of LAYERS) for (const f of l.folders) if ((file === f || file.startsWith(f + "/")) && (!best || f.length > best.length)) best = f;
  return best;
}

function layerOf(folder: string): { layer: Layer; rank: number } {
  const rank = LAYERS.findIndex((l) => l.folders.includes(folder));
  return { layer: LAYERS[rank]!, rank };
}

interface Graph {
  readonly files: readonly string[];
  /** file -> server files it imports */
  readonly imports: ReadonlyMap<string, readonly string[]>;
  /** file -> bare or node: specifiers */
  readonly external: ReadonlyMap<string, readonly string[]>;
}

function importGraph(): Graph {
  const files = sourceFiles(ROOT);
  const imports = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  for (const f of files) {
    const info = ts.preProcessFile(readFileSync(join(ROOT, f), "utf8"), true, true);
    const local: string[] = [];
    const ext: string[] = [];
    for (const { fileName } of info.importedFiles) {
      if (!fileName.startsWith(".")) {
        ext.push(fileName);
        continue;
      }
      const target = relative(ROOT, resolve(dirname(join(ROOT, f)), fileName)).replace(/\.js$/, ".ts");
      local.push(target);
    }
    imports.set(f, local);
    external.set(f, ext);
  }
  return { files, imports, external };
}

/** Every cycle's members (strongly connected components with more than one node, or a self-loop). */
function cycles(nodes: readonly string[], edges: (n: string) => readonly string[]): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges(v)) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || edges(v).includes(v)) out.push(scc.sort());
    }
  };
  for (const n of nodes) if (!idx.has(n)) visit(n);
  return out;
}

/** Clocks, timers and global randomness: what a pure layer must be handed instead. */
const IMPURE = /\b(?:Date\.now|new Date\b|performance\.now|setTimeout|setInterval|setImmediate|Math\.random|process\.)/;

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

/** Every rule of layers.ts broken by the tree, one line each. */
export function violations(g: Graph = importGraph()): string[] {
  const out: string[] = [];
  for (const f of g.files) {
    const from = folderOf(f);
    if (!from) {
      out.push(`${f}: belongs to no layer (add its folder to test/architecture/layers.ts)`);
      continue;
    }
    const a = layerOf(from);
    if (a.layer.pure) {
      for (const x of g.external.get(f)!) if (x.startsWith("node:") || ["fs", "path", "crypto", "os", "timers"].includes(x)) out.push(`${f}: pure layer ${a.layer.name} imports ${x}`);
      if (IMPURE.test(stripComments(readFileSync(join(ROOT, f), "utf8")))) out.push(`${f}: pure layer ${a.layer.name} uses a clock, timer or global randomness`);
    }
    for (const t of g.imports.get(f)!) {
      const to = folderOf(t);
      if (!to) {
        out.push(`${f} -> ${t}: imports a file that belongs to no layer`);
        continue;
      }
      if (to === from) continue;
      const b = layerOf(to);
      if (b.rank > a.rank) out.push(`${f} -> ${t}: ${a.layer.name} (${from}) imports the higher layer ${b.layer.name} (${to})`);
      else if (b.rank === a.rank && a.layer.independent) out.push(`${f} -> ${t}: ${from} and ${to} are independent ${a.layer.name}`);
    }
  }
  const fileEdges = (f: string) => (g.imports.get(f) ?? []).filter((t) => g.imports.has(t));
  for (const c of cycles(g.files, fileEdges)) out.push(`import cycle between files: ${c.join(" <-> ")}`);
  const folders = [...new Set(g.files.map(folderOf).filter((x): x is string => !!x))];
  const folderEdges = (d: string) => [
    ...new Set(
      g.files
        .filter((f) => folderOf(f) === d)
        .flatMap((f) => g.imports.get(f)!.map(folderOf))
        .filter((x): x is string => !!x && x !== d),
    ),
  ];
  for (const c of cycles(folders, folderEdges)) out.push(`import cycle between folders: ${c.join(" <-> ")}`);
  return out;
}

describe("server/ import graph", () => {
  test("every folder is in exactly one layer", () => {
    const seen = new Map<string, string>();
    for (const l of LAYERS) for (const f of l.folders) {
      assert.ok(!seen.has(f), `${f} is in ${seen.get(f)} and ${l.name}`);
      seen.set(f, l.name);
    }
  });

  test("follows test/architecture/layers.ts: no arrow up, no cycle, pure raft", () => {
    const v = violations();
    assert.deepEqual(v, [], `${v.length} violation(s):\n${v.join("\n")}`);
  });

  test("the checker sees an arrow up, a sibling import, a cycle and an impure import", () => {
    const g: Graph = {
      files: ["pb/a.ts", "etcdserver/b.ts", "api/grpc/c.ts", "api/http/d.ts", "mvcc/e.ts", "mvcc/f.ts"],
      imports: new Map([
        ["pb/a.ts", ["etcdserver/b.ts"]],
        ["etcdserver/b.ts", ["pb/a.ts"]],
        ["api/grpc/c.ts", []],
        ["api/http/d.ts", ["api/grpc/c.ts"]],
        ["mvcc/e.ts", ["mvcc/f.ts"]],
        ["mvcc/f.ts", ["mvcc/e.ts"]],
      ]),
      external: new Map([["pb/a.ts", []], ["etcdserver/b.ts", []], ["api/grpc/c.ts", []], ["api/http/d.ts", []], ["mvcc/e.ts", []], ["mvcc/f.ts", []]]),
    };
    const v = violations(g).join("\n");
    assert.match(v, /pb\/a\.ts -> etcdserver\/b\.ts: wire \(pb\) imports the higher layer server/);
    assert.match(v, /api\/http\/d\.ts -> api\/grpc\/c\.ts: api\/http and api\/grpc are independent adapters/);
    assert.match(v, /import cycle between files: mvcc\/e\.ts <-> mvcc\/f\.ts/);
    assert.match(v, /import cycle between folders: etcdserver <-> pb/);
  });
});
