export { applyCompaction, applyDeleteRange, applyPut, applyRange, applyTxn, isTxnReadonly } from "./apply.js";
export type { CompactionResult, LeaseHooks } from "./apply.js";
export { DEFAULT_MAX_TXN_OPS, validateDeleteRange, validatePut, validateRange, validateTxn } from "./validate.js";
