/** How the WAL logs (the server adapts pino to it); its own file so that every WAL module can take it. */
export interface WalLogger {
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
}
