/**
 * Runs test/support/srv-dns.ts as a process (for a network namespace: `ip netns exec NS node
 * srv-dns-main.js PORT JSON`), JSON = {"srv": {qname: [{target, port}]}, "a": {name: ip}}. Prints
 * "listening" once it answers; stops on SIGTERM.
 */
import { startSrvDns, type SrvAnswer } from "./srv-dns.js";

const [port, json] = process.argv.slice(2);
const table = JSON.parse(json ?? "{}") as { srv?: Record<string, SrvAnswer[]>; a?: Record<string, string> };
const dns = await startSrvDns(new Map(Object.entries(table.srv ?? {})), new Map(Object.entries(table.a ?? {})), Number(port ?? 53));
process.stdout.write("listening\n");
process.on("SIGTERM", () => void dns.close().then(() => process.exit(0)));
