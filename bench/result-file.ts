/** Reading and writing result files, refusing other schemas and versions with a clear message. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { SCHEMA_ID, SCHEMA_VERSION, type BenchResultFile } from "./schema.js";

export class ResultFileError extends Error {
  override name = "ResultFileError";
}

export function parseResult(text: string, source = "result"): BenchResultFile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ResultFileError(`${source}: not JSON (${(e as Error).message})`);
  }
  const d = doc as Partial<BenchResultFile> | null;
  if (!d || typeof d !== "object" || d.schema !== SCHEMA_ID) {
    throw new ResultFileError(`${source}: not an etcdkit benchmark result (expected "schema": "${SCHEMA_ID}")`);
  }
  if (d.schemaVersion !== SCHEMA_VERSION) {
    throw new ResultFileError(
      `${source}: result schema version ${JSON.stringify(d.schemaVersion)} is not supported; this etcdkit reads version ${SCHEMA_VERSION} (see bench/SCHEMA.md)`,
    );
  }
  if (!Array.isArray(d.runs) || !d.machine || !d.options) throw new ResultFileError(`${source}: incomplete result (runs, machine or options missing)`);
  return d as BenchResultFile;
}

export function readResultFile(path: string): BenchResultFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ResultFileError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseResult(text, path);
}

export function writeResultFile(path: string, r: BenchResultFile): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(r, null, 1)}\n`);
}
