/**
 * The sandbox of a member's systemd unit. Everything here must keep etcd-ts (node) and etcd
 * working: node's JIT writes and then executes code, so MemoryDenyWriteExecute= is absent; etcd-ts
 * reports readiness by running `systemd-notify` (AF_UNIX, NotifyAccess=all); the members only
 * talk TCP (AF_INET/AF_INET6) and write nothing but their data dir. Pure.
 */

/** `[Service]` lines; `writablePaths` are already quoted for a unit-file path list (none: nothing is writable). */
export function hardening(writablePaths: readonly string[]): string[] {
  return [
    "# Sandbox (systemd.exec(5)): read-only system, no privileges, only the data dir writable.",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "PrivateMounts=yes",
    ...(writablePaths.length > 0 ? [`ReadWritePaths=${writablePaths.join(" ")}`] : []),
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "RemoveIPC=yes",
    "SystemCallArchitectures=native",
    // A call outside the allow-list fails with EPERM instead of killing the member, so an
    // unexpected (optional) call such as io_uring falls back instead of crashing the server.
    "SystemCallFilter=@system-service",
    "SystemCallFilter=~@privileged @resources",
    "SystemCallErrorNumber=EPERM",
    "CapabilityBoundingSet=",
    "AmbientCapabilities=",
    "UMask=0077",
  ];
}
