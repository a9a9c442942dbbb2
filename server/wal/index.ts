export { Wal, WalError, segmentName, parseSegmentName, DEFAULT_MAX_WALS, DEFAULT_SEGMENT_SIZE_BYTES } from "./wal.js";
export type { WalLogger, WalMetadata, WalOpened, WalOptions, WalSnapshot } from "./wal.js";
