/**
 * A real etcd 3.4 on 127.0.0.1 (random ports, temp data dir) for differential tests, driven with
 * raw gRPC through etcd-ts's own proto loader (int64 as strings, enums as numbers).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";

export function etcdAvailable(): boolean {
  const r = spawnSync("etcd", ["--version"], { encoding: "utf8" });
  return r.status === 0 && /etcd Version: 3\.4\./.test(r.stdout);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface GrpcError {
  readonly code: number;
  readonly details: string;
}

export type Reply<T> = { ok: true; value: T } | { ok: false; err: GrpcError };

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class EtcdOracle {
  private constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    readonly endpoint: string,
    private readonly kv: grpc.Client,
    private readonly maint: grpc.Client,
  ) {}

  static async start(extraFlags: string[] = []): Promise<EtcdOracle> {
    const dir = mkdtempSync(join(tmpdir(), "etcd-oracle-"));
    const cport = await freePort();
    const pport = await freePort();
    const cu = `http://127.0.0.1:${cport}`;
    const pu = `http://127.0.0.1:${pport}`;
    const fd = openSync(join(dir, "etcd.log"), "a");
    const child = spawn(
      "etcd",
      [
        "--name=oracle",
        `--data-dir=${join(dir, "data")}`,
        `--listen-client-urls=${cu}`,
        `--advertise-client-urls=${cu}`,
        `--listen-peer-urls=${pu}`,
        `--initial-advertise-peer-urls=${pu}`,
        `--initial-cluster=oracle=${pu}`,
        ...extraFlags,
      ],
      { stdio: ["ignore", fd, fd] },
    );
    closeSync(fd);
    const endpoint = `127.0.0.1:${cport}`;
    const KV = clientConstructor("etcdserverpb", "KV");
    const M = clientConstructor("etcdserverpb", "Maintenance");
    const o = new EtcdOracle(child, dir, endpoint, new KV(endpoint, grpc.credentials.createInsecure()), new M(endpoint, grpc.credentials.createInsecure()));
    // wait until a put goes through (leader elected, serving)
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await o.call("kv", "Range", { key: Buffer.from("ready?") });
      if (r.ok) break;
      if (child.exitCode !== null || Date.now() > deadline) {
        const log = readFileSync(join(dir, "etcd.log"), "utf8");
        await o.stop();
        throw new Error(`etcd did not start: ${log.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return o;
  }

  call<T = any>(svc: "kv" | "maint", method: string, req: unknown): Promise<Reply<T>> {
    const c = (svc === "kv" ? this.kv : this.maint) as unknown as Record<string, Unary>;
    return new Promise((resolve) => {
      c[method]!.call(c, req, (err, res) => {
        if (err) resolve({ ok: false, err: { code: err.code, details: err.details } });
        else resolve({ ok: true, value: res as T });
      });
    });
  }

  log(): string {
    try {
      return readFileSync(join(this.dir, "etcd.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** Kill the etcd we started (by its PID) and remove its data. */
  async stop(): Promise<void> {
    this.kv.close();
    this.maint.close();
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      const exited = new Promise((r) => this.child.once("exit", r));
      process.kill(this.child.pid, "SIGKILL");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
