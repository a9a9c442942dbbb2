/**
 * `node shaper-main.js CONFIG.json`: one link shaper process (./shaper.ts), run by the kit inside a
 * namespace host. The config lists the routes (listen port, target, conditions per direction) and
 * a file to create once every route listens. SIGTERM closes it; its counters go to stdout (the log).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { LinkShaper, type ShaperRoute } from "./shaper.js";

export interface ShaperConfig {
  readonly routes: readonly ShaperRoute[];
  /** Created (with the pid) once every route listens. */
  readonly readyFile: string;
}

async function main(argv: string[]): Promise<void> {
  if (argv.length !== 1 || argv[0] === "--help" || argv[0] === "-h") {
    process.stdout.write("Usage: shaper-main CONFIG.json\n\nThe etcdkit link shaper (ansible-free-scripts/hosts/shaper.ts); started by the hosts lab.\n");
    process.exit(argv[0] === "--help" || argv[0] === "-h" ? 0 : 2);
  }
  const cfg = JSON.parse(readFileSync(argv[0]!, "utf8")) as ShaperConfig;
  const log = (l: string) => process.stdout.write(`${new Date().toISOString()} ${l}\n`);
  const shaper = new LinkShaper(cfg.routes, Math.random, log);
  await shaper.listen();
  log(`listening: ${cfg.routes.map((r) => `${r.name} 127.0.0.1:${r.listenPort} -> ${r.targetHost}:${r.targetPort}`).join(", ")}`);
  writeFileSync(cfg.readyFile, `${process.pid}\n`);
  const stop = () => {
    log(`stopping: ${JSON.stringify(shaper.stats)}`);
    void shaper.close().finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  process.stderr.write(`shaper: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
