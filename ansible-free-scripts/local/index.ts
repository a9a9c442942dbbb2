export { LocalCluster, type LocalClusterOptions, type LocalMember, type ServerKind } from "./cluster.js";
export { isPortFree } from "./ports.js";
