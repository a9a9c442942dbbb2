/**
 * The server's architecture as data: its layers from the bottom up, and what each may import.
 * `test/architecture/layers.test.ts` checks the import graph of `server/` against it.
 *
 * Rules:
 * - a file imports only files of its own layer or of a layer listed before it (no arrow up);
 * - in an `independent` layer, the folders do not import one another (the gRPC and HTTP adapters
 *   share nothing but what lies below them);
 * - a `pure` layer imports no `node:*` module and uses no clock, timer or global randomness;
 * - the graph has no cycle, neither between files nor between folders;
 * - every file of `server/` belongs to exactly one folder listed here (a new folder must be placed).
 *
 * A folder is a path under `server/` (`api/grpc`) or a top-level file (`main.ts`); the longest match wins.
 */
export interface Layer {
  readonly name: string;
  readonly folders: readonly string[];
  readonly independent?: boolean;
  readonly pure?: boolean;
  readonly why: string;
}

export const LAYERS: readonly Layer[] = [
  { name: "leaves", folders: ["util", "config", "log", "metrics", "version.ts"], why: "usable from anywhere, import nothing above them (so not even pb)" },
  { name: "grpc wire", folders: ["grpcwire"], why: "the gRPC HTTP/2 protocol on Node's http2 (messages, statuses, deadlines, connection timers): knows no etcd message, imports nothing of ours" },
  { name: "tls", folders: ["tls"], why: "certificates, TLS acceptors and the peer dialer, as etcd's transport package: leaves only, used by the peer transport, the server's join and the listeners" },
  { name: "bootstrap discovery", folders: ["discovery"], why: "etcd's v2 discovery client and DNS SRV lookups that give a new member its initial cluster: leaves only, used by the server's bootstrap and the composition root" },
  { name: "wire", folders: ["pb"], why: "protobuf loading, message codecs, the raft-entry codec, API error values: importable by every layer above the leaves" },
  { name: "raft", folders: ["raft"], pure: true, why: "the pure Raft state machine: no I/O, timers, clocks" },
  { name: "storage", folders: ["backend", "wal", "snap"], why: "lmdb, the write-ahead log, snapshot files" },
  { name: "domain", folders: ["mvcc", "watch", "lease", "membership", "auth"], why: "revisions and keys, watchers, leases, members, users and roles: throw domain errors" },
  { name: "peer transport", folders: ["transport"], why: "member-to-member streams; delivers to a receiver the server implements" },
  { name: "server", folders: ["etcdserver"], why: "the raft driver, proposals, apply, and the transport-neutral request layer" },
  { name: "client recipes", folders: ["api/v3client", "api/concurrency"], why: "Lock and Election: etcd's client recipes run against the member's request layer" },
  { name: "adapters", folders: ["api/grpc", "api/http", "api/proto"], independent: true, why: "gRPC and the JSON gateway: translate only" },
  { name: "composition root", folders: ["embed"], why: "builds every collaborator and opens the listeners" },
  { name: "commands", folders: ["ctl"], why: "etcd-ts's offline subcommands (snapshot status and restore): etcdctl's flags and output" },
  { name: "entry point", folders: ["main.ts", "v8-flags.ts"], why: "flags -> config -> start; the V8 flags the process runs with" },
];
