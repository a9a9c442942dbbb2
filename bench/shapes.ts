/**
 * Load shapes: how many connections and concurrent clients a load trial uses. `--clients` and `--conns` take
 * lists, paired in order (`--clients 1,100 --conns 1,10`: one connection for one client, ten for a hundred);
 * one --conns value goes with every --clients value; without --conns a shape gets one connection per ten
 * clients (rounded up), the ratio of etcd's own benchmark examples.
 */
import { UsageError } from "./args.js";

export interface LoadShape {
  conns: number;
  clients: number;
}

export const defaultConns = (clients: number): number => Math.max(1, Math.ceil(clients / 10));

/** A list flag's values (a single number, as programmatic callers pass it, is a list of one). */
function ints(name: string, raw: string[] | number | undefined): number[] | undefined {
  if (raw === undefined) return undefined;
  const list = typeof raw === "number" ? [String(raw)] : raw;
  if (!list.length) throw new UsageError(`--${name} is empty`);
  return list.map((r) => {
    if (!/^-?\d+$/.test(r.trim())) throw new UsageError(`--${name} takes an integer, got "${r}"`);
    const n = Number(r);
    if (n < 1) throw new UsageError(`--${name} must be an integer >= 1, got ${n}`);
    return n;
  });
}

export function parseShapes(connsRaw: string[] | number | undefined, clientsRaw: string[] | number | undefined, defaultClients: number[]): LoadShape[] {
  const clients = ints("clients", clientsRaw) ?? defaultClients;
  const conns = ints("conns", connsRaw);
  if (conns && conns.length !== 1 && conns.length !== clients.length) {
    throw new UsageError(`--conns has ${conns.length} values for ${clients.length} --clients values (give one, or one per --clients value)`);
  }
  const shapes = clients.map((c, i) => ({ conns: conns ? conns[conns.length === 1 ? 0 : i]! : defaultConns(c), clients: c }));
  const seen = new Set<number>();
  for (const s of shapes) {
    if (seen.has(s.clients)) throw new UsageError(`--clients ${s.clients} is given twice`);
    seen.add(s.clients);
  }
  return shapes;
}

export const fmtShape = (s: LoadShape): string => `${s.conns}/${s.clients}`;
