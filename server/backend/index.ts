export { Backend, BackendFailedError, Bucket, BUCKET_KEY, BUCKET_META, backendPath } from "./backend.js";
export type { BackendLogger, BackendOptions } from "./backend.js";
export { checkLmdbFile, InvalidDatabaseError } from "./file-check.js";
