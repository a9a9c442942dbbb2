/**
 * Hostile values for the deploy tests: quotes, command substitution, backticks, ';', newlines,
 * leading '-', '%', spaces, '..', NUL, very long strings, ... Each value that could run something
 * tries to `touch` the canary file the test names. Shared by hostile-inventory.test.ts and
 * ssh-deploy.test.ts.
 */

export type FieldKind = "path" | "server" | "name" | "token" | "user" | "login" | "address" | "sshHost" | "ipv4" | "port" | "int" | "enum" | "bool" | "identity" | "options" | "key";

export interface InventoryField {
  /** How error messages name it. */
  readonly field: string;
  readonly kind: FieldKind;
  readonly path: readonly (string | number)[];
  /** Removed first (an alias and its ssh.* twin cannot both be given). */
  readonly unset?: readonly (string | number)[];
}

export type Doc = Record<string, unknown>;

const c = (k: string, kind: FieldKind): InventoryField => ({ field: `cluster.${k}`, kind, path: ["cluster", k] });
const h = (k: string, kind: FieldKind, unset?: string): InventoryField => ({
  field: `hosts[0].${k}`,
  kind,
  path: ["hosts", 0, ...k.split(".")],
  ...(unset ? { unset: ["hosts", 0, "ssh", unset] } : {}),
});

export const INVENTORY_FIELDS: readonly InventoryField[] = [
  c("name", "name"),
  c("server", "server"),
  c("token", "token"),
  c("heartbeatMs", "int"),
  c("electionMs", "int"),
  c("snapshotCount", "int"),
  c("deployDir", "path"),
  c("envDir", "path"),
  c("dataDir", "path"),
  c("unitDir", "path"),
  c("user", "user"),
  c("nodePath", "path"),
  c("etcdPath", "path"),
  c("serviceManager", "enum"),
  c("sudo", "bool"),
  c("healthTimeoutMs", "int"),
  { field: "cluster", kind: "key", path: ["cluster"] },
  h("address", "address"),
  h("name", "name"),
  h("clientPort", "port"),
  h("peerPort", "port"),
  h("listenAddress", "ipv4"),
  h("ssh.host", "sshHost"),
  h("ssh.user", "login"),
  h("ssh.port", "port"),
  h("ssh.identity", "identity"),
  h("ssh.options", "options"),
  h("sshHost", "sshHost", "host"),
  h("sshUser", "login", "user"),
  h("sshPort", "port", "port"),
  h("identity", "identity", "identity"),
  h("sshOptions", "options", "options"),
  { field: "hosts[0]", kind: "key", path: ["hosts", 0] },
  { field: "hosts[0].ssh", kind: "key", path: ["hosts", 0, "ssh"] },
];

/** The raw hostile strings; `canary` is the file a successful injection would create. */
export function hostileStrings(canary: string): string[] {
  return [
    `x'y`,
    `x"y`,
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `a;touch ${canary}`,
    `a\ntouch ${canary}`,
    `a\rb`,
    `a\tb`,
    `-oProxyCommand=touch ${canary}`,
    `--help`,
    `100%n`,
    `%h`,
    `a b`,
    ` a`,
    `..`,
    `../../etc`,
    `a\0b`,
    "x".repeat(5000),
    `|touch ${canary}`,
    `a&&touch ${canary}`,
    `a>${canary}`,
    `*`,
    `~root`,
    `\\`,
    `a\\`,
    "${HOME}",
    "",
    "é",
    "a\u2028b",
    `x\nExecStartPre=/bin/touch ${canary}`,
    `x\nETCD_NAME=evil`,
  ];
}

/** Values every field of `kind` must refuse (identity: some of them are legitimate file names). */
export function hostileValues(kind: FieldKind, canary: string): unknown[] {
  const raw = hostileStrings(canary);
  switch (kind) {
    case "path":
    case "server":
      return [
        ...raw.filter((v) => v !== "--help"),
        ...raw.filter((v) => v !== "--help" && v !== "" && v !== "x".repeat(5000)).map((v) => `/opt/${v}`),
        "/",
        "//",
        "/opt//x",
        "/opt/./x",
        "/opt/../etc",
        `/opt/${"x".repeat(300)}`,
        `/${"a/".repeat(600)}`,
        "relative/path",
        42,
      ];
    case "token":
      return [...raw.filter((v) => v !== ".." && v !== "--help"), "x".repeat(256)];
    case "name":
      return [...raw, "Upper", "a_b", "-a", "a-", "x".repeat(64)];
    case "user":
      return [...raw, "Root", "1abc", "a.b", "x".repeat(33)];
    case "login":
      return [...raw, "1abc", "x".repeat(33)];
    case "address":
    case "sshHost":
      return [...raw, "-host", "a..b", "a_b.-c", "x".repeat(254), ...(kind === "address" ? ["::1", "a_b", "1.2.3.999"] : [])];
    case "ipv4":
      return [...raw, "256.1.1.1", "::1", "localhost"];
    case "port":
      return [...raw, 0, -1, 65536, 1.5, "1e3", "0x10", " 22", "22 ", "2379;"];
    case "int":
      return [...raw, -1, 1.5, "1e3", "0x10", " 5", 2 ** 40];
    case "enum":
      return [...raw, "System", "systemd "];
    case "bool":
      return [...raw, "true", "yes", 1, 0];
    case "identity":
      return [...raw, `/keys/my key $(touch ${canary}) 'q' "d" \`touch ${canary}\`;x|y&z`, `~/k$(touch ${canary})`, "%d/key", "${HOME}/key"];
    case "options":
      return [
        ...raw.map((v) => [v]),
        ...raw.filter((v) => v !== "a b").map((v) => ["-o", v]),
        ["-o", `ProxyCommand=touch ${canary}`],
        ["-o", `proxycommand touch ${canary}`],
        [`-oProxyCommand=touch ${canary}`],
        ["-o", `LocalCommand=touch ${canary}`],
        ["-o", "PermitLocalCommand=yes"],
        ["-o", `KnownHostsCommand=/bin/touch ${canary}`],
        ["-o", `RemoteCommand=touch ${canary}`],
        ["-o", "PKCS11Provider=/tmp/evil.so"],
        ["-o", "SecurityKeyProvider=/tmp/evil.so"],
        ["-o"],
        ["-F"],
        ["-F", "-oProxyCommand=x"],
        ["-J", `-oProxyCommand=touch ${canary}`],
        ["-J", "a;b"],
        ["-l", "root"],
        ["-p", "22"],
        ["evil.example"],
        "-o StrictHostKeyChecking=no",
        [42],
      ];
    case "key":
      return raw.filter((v) => v !== "").concat(["deploydir", "sshhost"]);
  }
}

export function validInventory(): Doc {
  return {
    cluster: {
      name: "hostile",
      server: "etcd",
      user: "etcd",
      deployDir: "/srv/etcdkit-hostile/opt",
      envDir: "/srv/etcdkit-hostile/etc",
      dataDir: "/srv/etcdkit-hostile/data",
      unitDir: "/srv/etcdkit-hostile/units",
      nodePath: "/usr/bin/node",
      etcdPath: "/usr/bin/etcd",
      serviceManager: "supervisor",
      sudo: false,
      token: "hostile-token",
      heartbeatMs: 100,
      electionMs: 1000,
      snapshotCount: 1000,
      healthTimeoutMs: 1000,
    },
    hosts: [0, 1, 2].map((i) => ({
      address: "127.0.0.1",
      name: `etcd-${i + 1}`,
      clientPort: 45000 + 2 * i,
      peerPort: 45001 + 2 * i,
      listenAddress: "127.0.0.1",
      ssh: { host: "127.0.0.1", user: "root", port: 22, identity: "/nonexistent/id_ed25519", options: ["-o", "StrictHostKeyChecking=no"] },
    })),
  };
}

export function setField(doc: Doc, f: InventoryField, value: unknown): void {
  const walk = (path: readonly (string | number)[]) => {
    let o = doc as Record<string | number, unknown>;
    for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
    return o;
  };
  if (f.unset) delete walk(f.unset)[f.unset[f.unset.length - 1]!];
  if (f.kind === "key") {
    (walk([...f.path, "x"]) as Record<string, unknown>)[String(value)] = "x";
    return;
  }
  walk(f.path)[f.path[f.path.length - 1]!] = value;
}
