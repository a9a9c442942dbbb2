import { createServer } from "node:net";

/**
 * Ports handed out are taken below Linux's ephemeral range (32768-60999 by default): a port from listen(0) is an
 * ephemeral one, and between the check and the member binding it, any process's outgoing connection may take it
 * as its source port (a member's own peer dials did, once: EADDRINUSE). A port is not handed out twice in one
 * process.
 */
const LOW = 20_000;
const HIGH = 32_000;
const given = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A port that is free on 127.0.0.1 right now and outside the ephemeral range. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (given.has(port)) continue;
    if (await bindable(port)) {
      given.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${LOW} and ${HIGH} after 200 tries`);
}
