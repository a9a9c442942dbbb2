/**
 * Small modules (the developers' guide): no file of server/ over MAX_FILE_LINES lines and no
 * function over MAX_FUNCTION_LINES, unless the comment just above it says why, starting with
 * "Long:" (e.g. a table of routes read best in one piece).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { packageRoot } from "../../server/util/package-root.js";

const ROOT = join(packageRoot(), "server");
const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 80;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out.sort();
}

/** A "Long:" comment right above the node (or above the statement that holds it) excuses it. */
function excused(node: ts.Node, src: ts.SourceFile): boolean {
  for (let n: ts.Node | undefined = node; n && !ts.isSourceFile(n); n = n.parent) {
    const ranges = ts.getLeadingCommentRanges(src.text, n.getFullStart()) ?? [];
    if (ranges.some((r) => /^\s*(\/\/|\/\*+|\*)\s*Long:/m.test(src.text.slice(r.pos, r.end)))) return true;
    if (ts.isStatement(n) || ts.isClassElement(n)) break;
  }
  return false;
}

function longFunctions(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && "body" in n && n.body) {
      const start = src.getLineAndCharacterOfPosition(n.getStart(src)).line;
      const end = src.getLineAndCharacterOfPosition(n.getEnd()).line;
      const lines = end - start + 1;
      const name = (n as ts.FunctionLikeDeclaration).name?.getText(src) ?? "(anonymous)";
      if (lines > MAX_FUNCTION_LINES && !excused(n, src)) out.push(`${relative(ROOT, file)}:${start + 1} ${name}: ${lines} lines`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

test(`no file of server/ over ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES} (unless a "Long:" comment says why)`, () => {
  const problems: string[] = [];
  for (const f of sourceFiles(ROOT)) {
    const lines = readFileSync(f, "utf8").split("\n").length;
    if (lines > MAX_FILE_LINES) problems.push(`${relative(ROOT, f)}: ${lines} lines`);
    problems.push(...longFunctions(f));
  }
  assert.deepEqual(problems, [], problems.join("\n"));
});
