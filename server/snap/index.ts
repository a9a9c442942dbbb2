export { Snapshotter, SnapError, SNAP_SUFFIX, snapName, encodeSnapshot, decodeSnapshot } from "./snapshotter.js";
export { SnapDbReceiver, SNAP_DB_SUFFIX, fsyncDir, listSnapDbs, releaseSnapDbs, snapDbName, snapDbPath } from "./db-file.js";
