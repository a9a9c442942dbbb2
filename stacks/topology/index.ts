export * from "./errors.js";
export * from "./ipv4.js";
export * from "./topology.js";
export * from "./systemd-unit.js";
export * from "./server-command.js";
export * from "./safe-values.js";
export * from "./kubernetes.js";
export * from "./backup-timer.js";
