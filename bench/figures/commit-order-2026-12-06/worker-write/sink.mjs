// A peer that reads and drops everything: node sink.mjs PORT (ends on SIGTERM)
import net from "node:net";
net.createServer({ noDelay: true }, (s) => s.on("data", () => undefined)).listen(+process.argv[2], "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
