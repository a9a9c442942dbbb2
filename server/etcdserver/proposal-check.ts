/**
 * The check a member makes on proposals a peer forwards (MsgProp) before they reach its raft log:
 * every entry must be one an etcd-ts member proposes (entry-decode.ts, conf-change-plan.ts). With
 * it, nothing a peer sends can put an entry in the log that apply would refuse; apply stays total
 * for whatever got there anyway (an older member, a damaged log).
 */
import { EntryType, type Message } from "../raft/types.js";
import { checkConfChangeEntry } from "./conf-change-plan.js";
import { decodeNormalEntry } from "./entry-decode.js";

/** Why the forwarded proposal must be dropped, or undefined. */
export function checkForwardedProposal(m: Message): string | undefined {
  for (const e of m.entries) {
    if (e.type === EntryType.ConfChange) {
      const why = checkConfChangeEntry(e.data);
      if (why) return why;
      continue;
    }
    const d = decodeNormalEntry(e.data);
    if (d.type === "noop") return "an empty proposal (only a leader appends empty entries)";
    if (d.type === "invalid") return d.reason;
  }
  return undefined;
}
