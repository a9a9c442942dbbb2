// Minimal typing for autocannon 9 (it ships none), covering what bench/http-load.ts uses.
declare module "autocannon" {
  import type { EventEmitter } from "node:events";
  interface AutocannonRequest {
    method?: string;
    path?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    setupRequest?: (req: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest | undefined;
  }
  interface AutocannonOptions {
    url: string | string[];
    connections?: number;
    amount?: number;
    duration?: number;
    timeout?: number;
    overallRate?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    requests?: AutocannonRequest[];
    excludeErrorStats?: boolean;
    skipAggregateResult?: boolean;
    bailout?: number;
  }
  interface AutocannonResult {
    requests: { sent: number; total: number; average: number };
    latency: Record<string, number>;
    errors: number;
    timeouts: number;
    non2xx: number;
    "2xx": number;
    duration: number;
    statusCodeStats?: Record<string, { count: number }>;
  }
  interface Instance extends EventEmitter, PromiseLike<AutocannonResult> {
    stop(): void;
  }
  function autocannon(opts: AutocannonOptions, cb?: (err: Error | null, res: AutocannonResult) => void): Instance;
  export = autocannon;
}
