export { MvccStore } from "./store.js";
export type { CommitListener, LeaseHooks, MvccLogger, MvccStoreOptions, RangeOptions, RangeResult, WriteTxn } from "./store.js";
