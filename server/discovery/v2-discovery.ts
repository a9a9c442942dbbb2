/**
 * etcd's v2 discovery protocol (etcdserver/api/v2discovery), as a new member of etcd 3.4 runs it:
 * the discovery URL's path is the token directory on a v2 keys service; `<token>/_config/size` says
 * how many members the cluster has; each member creates `<token>/<member-id hex>` holding its
 * `name=peerURL,...` and waits until `size` members have registered; the first `size` of them by
 * creation index are the initial cluster.
 *
 * Errors and retries are etcd's: a full cluster, a duplicate registration, a duplicate name and a
 * bad size key fail with etcd's texts; a service that cannot be reached (or answers 5xx) is retried
 * with an exponential backoff of 2 s, 4 s, ... up to 256 s, for ever (etcd's nRetries is 2^32-1).
 */
import { posix } from "node:path";
import { parseInitialCluster } from "../config/parse.js";
import type { Logger } from "../log/logger.js";
import { ERROR_CODE_NODE_EXIST, V2ClusterError, V2InvalidJsonError, V2KeysClient, V2KeysError, type V2Node } from "./v2-keys-client.js";

export const ErrInvalidURL = "discovery: invalid URL";
export const ErrBadSizeKey = "discovery: size key is bad";
export const ErrDuplicateID = "discovery: found duplicate id";
export const ErrDuplicateName = "discovery: found duplicate name";
export const ErrFullCluster = "discovery: cluster is full";
export const ErrBadDiscoveryEndpoint = "discovery: bad discovery endpoint";

/** A discovery failure with etcd's sentinel text (`discovery: ...`), or another error passed through. */
export class V2DiscoveryError extends Error {}

const MAX_EXPONENTIAL_RETRIES = 8;

export interface JoinOptions {
  readonly discoveryUrl: string;
  readonly proxy: string;
  /** This member's ID (from its peer URLs and the discovery URL as the cluster token). */
  readonly memberId: bigint;
  /** This member's `name=peerURL,...`, registered under its ID. */
  readonly config: string;
  readonly logger: Logger;
  /** The backoff's sleep (tests shorten it). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** etcd's v2discovery.JoinCluster: the initial cluster as `name=url,...`. */
export async function joinCluster(o: JoinOptions): Promise<string> {
  const d = new Discovery(o);
  await d.checkCluster();
  await d.createSelf(o.config);
  const { nodes, size, index } = await d.checkCluster();
  const all = await d.waitNodes(nodes, size, index);
  return nodesToCluster(all, size);
}

interface Checked {
  readonly nodes: V2Node[];
  readonly size: number;
  readonly index: number;
}

class Discovery {
  private readonly client: V2KeysClient;
  private readonly cluster: string;
  private readonly url: URL;
  private retries = 0;

  constructor(private readonly o: JoinOptions) {
    let u: URL;
    try {
      u = new URL(o.discoveryUrl);
    } catch {
      throw new V2DiscoveryError(`parse "${o.discoveryUrl}": invalid URI for request`);
    }
    this.cluster = u.pathname;
    this.url = new URL(u.origin);
    this.client = new V2KeysClient(this.url, proxyUrlOf(o.proxy, o.logger));
  }

  private get urlText(): string {
    return this.url.origin;
  }

  selfKey(): string {
    return join("/", this.cluster, this.o.memberId.toString(16));
  }

  async createSelf(contents: string): Promise<void> {
    let created;
    try {
      created = await this.client.create(this.selfKey(), contents);
    } catch (e) {
      if (e instanceof V2KeysError && e.code === ERROR_CODE_NODE_EXIST) throw new V2DiscoveryError(ErrDuplicateID);
      throw e;
    }
    // etcd waits to see its own creation (a watch from the creation index answers at once)
    await this.client.watchNext(this.selfKey(), created.node.createdIndex - 1, false);
  }

  async checkCluster(): Promise<Checked> {
    const configKey = join("/", this.cluster, "_config");
    const sizeKey = join(configKey, "size");
    let sizeNode;
    try {
      sizeNode = (await this.client.get(sizeKey)).node;
    } catch (e) {
      // etcd 3.4 compares a *client.Error where the client returns client.Error values, so a missing
      // size key is reported as the service's own error ("100: Key not found ..."), not ErrSizeNotFound
      if (e instanceof V2InvalidJsonError) throw new V2DiscoveryError(ErrBadDiscoveryEndpoint);
      if (e instanceof V2ClusterError) return this.checkClusterRetry(sizeKey, e);
      throw e;
    }
    if (!/^\d+$/.test(sizeNode.value ?? "")) throw new V2DiscoveryError(ErrBadSizeKey);
    const size = Number(sizeNode.value);
    let listed;
    try {
      listed = await this.client.get(this.cluster);
    } catch (e) {
      if (e instanceof V2ClusterError) return this.checkClusterRetry(this.cluster, e);
      throw e;
    }
    const nodes = (listed.node.nodes ?? []).filter((n) => posix.basename(n.key) !== "_config").sort((a, b) => a.createdIndex - b.createdIndex);
    const self = posix.basename(this.selfKey());
    for (let i = 0; i < nodes.length; i++) {
      if (posix.basename(nodes[i]!.key) === self) break;
      if (i >= size - 1) throw Object.assign(new V2DiscoveryError(ErrFullCluster), { nodes: nodes.slice(0, size), size });
    }
    return { nodes, size, index: listed.index };
  }

  private async checkClusterRetry(path: string, e: V2ClusterError): Promise<Checked> {
    this.o.logger.warn({ "discovery-url": this.urlText, path, error: e.message, "err-detail": e.detail() }, "failed to get from discovery server");
    await this.backoff("cluster status check");
    return this.checkCluster();
  }

  private async backoff(step: string): Promise<void> {
    this.retries++;
    const seconds = 2 ** Math.min(this.retries, MAX_EXPONENTIAL_RETRIES);
    this.o.logger.info({ url: this.urlText, reason: step, backoff: `${seconds}s` }, "retry connecting to discovery service");
    await (this.o.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms))))(seconds * 1000);
  }

  async waitNodes(found: V2Node[], size: number, index: number): Promise<V2Node[]> {
    const all = found.slice(0, size);
    const self = posix.basename(this.selfKey());
    for (const n of all) {
      const name = posix.basename(n.key);
      if (name === self) this.o.logger.info({ "discovery-url": this.urlText, self }, "found self from discovery server");
      else this.o.logger.info({ "discovery-url": this.urlText, peer: name }, "found peer from discovery server");
    }
    let after = index;
    while (all.length < size) {
      this.o.logger.info({ "discovery-url": this.urlText, "found-peers": all.length, "needed-peers": size - all.length }, "found peers from discovery server; waiting for more");
      let next;
      try {
        next = await this.client.watchNext(this.cluster, after, true);
      } catch (e) {
        if (!(e instanceof V2ClusterError)) throw e;
        await this.backoff("waiting for other nodes");
        const again = await this.checkCluster();
        return this.waitNodes(again.nodes, again.size, again.index);
      }
      after = next.node.modifiedIndex;
      this.o.logger.info({ "discovery-url": this.urlText, peer: posix.basename(next.node.key) }, "found peer from discovery server");
      all.push(next.node);
    }
    this.o.logger.info({ "discovery-url": this.urlText, "found-peers": all.length }, "found all needed peers from discovery server");
    return all;
  }
}

/** etcd's newProxyFunc: a proxy given without an http(s) scheme is taken as http://<proxy>. */
function proxyUrlOf(proxy: string, logger: Logger): URL | undefined {
  if (proxy === "") return undefined;
  let u: URL | undefined;
  try {
    u = new URL(proxy);
  } catch {
    u = undefined;
  }
  if (!u || !u.protocol.startsWith("http")) {
    try {
      u = new URL(`http://${proxy}`);
    } catch {
      throw new V2DiscoveryError(`invalid proxy address "${proxy}"`);
    }
  }
  // Go's url.String() gives back what was parsed (no "/" added for an empty path)
  logger.info({ "proxy-url": proxy.includes("://") && u.protocol.startsWith("http") ? proxy : `http://${proxy}` }, "running proxy with discovery");
  return u;
}

/** Go's path.Join: joined and cleaned, no trailing slash. */
function join(...parts: string[]): string {
  const j = posix.join(...parts);
  return j.length > 1 && j.endsWith("/") ? j.slice(0, -1) : j;
}

/** etcd's nodesToCluster: the registered values as one initial cluster, each name once. */
function nodesToCluster(nodes: readonly V2Node[], size: number): string {
  const us = nodes.map((n) => n.value ?? "").join(",");
  let members;
  try {
    members = parseInitialCluster(us);
  } catch {
    throw new V2DiscoveryError(ErrInvalidURL);
  }
  if (members.length !== size) throw new V2DiscoveryError(ErrDuplicateName);
  return us;
}
