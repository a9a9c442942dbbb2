export { AUTO_WATCH_ID, ErrEmptyWatcherRange, ErrWatcherDuplicateID, WatchableStore, WatchStream } from "./watchable-store.js";
export type { StoreWatchResponse, WatchableStoreOptions, WatchRequestSpec, WatchSink } from "./watchable-store.js";
