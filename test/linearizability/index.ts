/** Linearizability checking for etcd-ts histories: see README.md. */
export { checkHistory } from "./checker.js";
export { HistoryRecorder, type Token } from "./recorder.js";
export { findLostWrites, type LostWrite } from "./lost-writes.js";
export type * from "./types.js";
