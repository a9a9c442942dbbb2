export { Snapshotter, SnapError, SNAP_SUFFIX, snapName, encodeSnapshot, decodeSnapshot } from "./snapshotter.js";
