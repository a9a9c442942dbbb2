export { MvccStore } from "./store.js";
export { ErrCompacted, ErrFutureRev, MvccError } from "./errors.js";
export type { CommitListener, LeaseHooks, MvccLogger, MvccStoreOptions, RangeOptions, RangeResult, WriteTxn } from "./store.js";
