/** The Raft core's public API. See README.md for the driver's rules. */
export * from "./types.js";
export { RawNode } from "./raw-node.js";
export { MemoryStorage } from "./memory-storage.js";
export { encodeConfChange, decodeConfChange } from "./conf-change-codec.js";
export { encodeMessage, decodeMessage, encodeEntry, decodeEntry } from "./message-codec.js";
export {
  entrySize,
  payloadSize,
  limitSize,
  isEmptySnap,
  isEmptyHardState,
  isLocalMsg,
  isResponseMsg,
  makeMessage,
  EMPTY_SNAPSHOT,
  EMPTY_CONF_STATE,
} from "./util.js";
