/**
 * The addresses a member binds for a list of URLs. As etcd's configureClientListeners, an http:// and an https://
 * URL on the same host:port share one listener that serves both (a TLS record first means TLS); every other URL
 * gets its own.
 */
export interface ListenGroup {
  readonly host: string;
  readonly port: number;
  /** Some URL on this address is https://. */
  readonly secure: boolean;
  /** Some URL on this address is http://. */
  readonly plaintext: boolean;
  readonly urls: readonly string[];
}

export function listenGroups(urls: readonly string[]): ListenGroup[] {
  const byAddress = new Map<string, { host: string; port: number; secure: boolean; plaintext: boolean; urls: string[] }>();
  for (const u of urls) {
    const url = new URL(u);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const key = `${host}|${url.port}`;
    const g = byAddress.get(key) ?? { host, port: Number(url.port), secure: false, plaintext: false, urls: [] };
    if (url.protocol === "https:") g.secure = true;
    else g.plaintext = true;
    g.urls.push(u);
    byAddress.set(key, g);
  }
  return [...byAddress.values()];
}
