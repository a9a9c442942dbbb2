import { EntryType, type Entry } from "../../server/raft/types.js";

/** The entry the crash child writes at `index` (content and size derived from the index). */
export function crashEntry(index: number): Entry {
  const size = (index * 37) % 700;
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index + i * 13) & 0xff;
  return { index, term: 1, type: EntryType.Normal, data };
}
