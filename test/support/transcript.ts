import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import type { MemberProcess } from "./launcher.js";

/** A differential session's record: one [step label, normalized output] per step. */
export type Transcript = Array<[string, unknown]>;

/**
 * Runs the same session against real etcd and etcd-ts at once and asserts the transcripts match step
 * by step (the first differing step is named). DUMP_TRANSCRIPTS=<prefix> writes both to <prefix>.<name>.json.
 */
export async function assertSameTranscripts(name: string, etcd: MemberProcess, ours: MemberProcess, session: (m: MemberProcess) => Promise<Transcript>): Promise<Transcript> {
  const [want, got] = await Promise.all([session(etcd), session(ours)]);
  if (process.env.DUMP_TRANSCRIPTS) writeFileSync(`${process.env.DUMP_TRANSCRIPTS}.${name}.json`, JSON.stringify({ want, got }, null, 1));
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.deepEqual(got[i], want[i], `step ${i}: ${want[i]![0]}`);
  return want;
}
