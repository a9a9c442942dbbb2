/**
 * An etcd-ts (or etcd) cluster whose members each run in their own NetLab host, on that host's own
 * address (client port 2379, peer port 2380, as on real hosts), so partition.ts can cut the links
 * between members while the test process keeps reaching every member's client port.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LabHost, LabProcess, NetLab } from "../../ansible-free-scripts/hosts/netns.js";
import { memberEnv, memberFlags, serverCommand } from "./launcher.js";

export interface LabMember {
  readonly name: string;
  readonly host: LabHost;
  readonly clientUrl: string;
  /** host:port, as gRPC clients and etcdctl take it. */
  readonly endpoint: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  readonly logFile: string;
  proc?: LabProcess;
}

export interface LabClusterOptions {
  readonly server: "etcd-ts" | "etcd";
  /** Data directories and logs go here (one subdirectory and one log per member). */
  readonly dir: string;
  readonly heartbeatMs: number;
  readonly electionMs: number;
  readonly token?: string;
  readonly extraFlags?: readonly string[];
}

export class LabCluster {
  readonly members: LabMember[];

  private constructor(
    private readonly lab: NetLab,
    private readonly o: LabClusterOptions,
  ) {
    this.members = lab.hosts.map((h) => ({
      name: h.name,
      host: h,
      clientUrl: `http://${h.addr}:2379`,
      endpoint: `${h.addr}:2379`,
      peerUrl: `http://${h.addr}:2380`,
      dataDir: join(o.dir, `${h.name}.data`),
      logFile: join(o.dir, `${h.name}.log`),
    }));
  }

  /** Starts one member per lab host (initial cluster state "new"); does not wait for a leader. */
  static start(lab: NetLab, o: LabClusterOptions): LabCluster {
    mkdirSync(o.dir, { recursive: true });
    const c = new LabCluster(lab, o);
    for (const m of c.members) c.startMember(m);
    return c;
  }

  endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  member(name: string): LabMember {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  /** The member whose client URL is `endpoint` (host:port). */
  byEndpoint(endpoint: string): LabMember | undefined {
    return this.members.find((m) => m.endpoint === endpoint);
  }

  log(name: string): string {
    try {
      return readFileSync(this.member(name).logFile, "utf8");
    } catch {
      return "";
    }
  }

  private startMember(m: LabMember): void {
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(",");
    const flags = [
      ...memberFlags({ ...m, initialCluster, state: "new", token: this.o.token ?? `lab-${this.lab.id}`, heartbeatMs: this.o.heartbeatMs, electionMs: this.o.electionMs }),
      ...(this.o.extraFlags ?? []),
    ];
    const [cmd, argv] = serverCommand(this.o.server, flags);
    const env = memberEnv();
    m.proc = this.lab.spawn(m.host, cmd, argv, { logFile: m.logFile, env });
  }

  /** Kills every member (by PID) and waits for the exits. */
  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.proc?.kill()));
  }
}
