import { ConfigError } from "./errors.js";

/** Checks one URL as etcd's types.NewURLs does, naming the flag in etcd's words. */
export function checkUrl(flag: string, raw: string): string {
  const bad = (why: string) => new ConfigError(`invalid value "${raw}" for flag -${flag}: ${why}`, true);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw bad(`URL scheme must be http, https, unix, or unixs: ${raw}`);
  }
  const scheme = u.protocol.replace(/:$/, "");
  if (!["http", "https", "unix", "unixs"].includes(scheme)) throw bad(`URL scheme must be http, https, unix, or unixs: ${raw}`);
  if (scheme === "unix" || scheme === "unixs") throw bad(`unix sockets are not supported by etcd-ts: ${raw}`);
  if (u.port === "") throw bad(`URL address does not have the form "host:port": ${raw}`);
  if (u.pathname !== "/" && u.pathname !== "") throw bad(`URL must not contain a path: ${raw}`);
  return raw.replace(/\/$/, "");
}

export function checkUrls(flag: string, list: string): string[] {
  if (list.trim() === "") return [];
  return list.split(",").map((s) => checkUrl(flag, s.trim()));
}
