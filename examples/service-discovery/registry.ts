/**
 * Service discovery on etcd with the npm `etcd3` client (see README.md in this directory): an
 * instance is the key `<prefix><service>/<instance>` (prefix `/service/`) with its address as value,
 * under a lease it keeps alive while it runs. When it stops (crash, kill -9, partition) the leader
 * revokes the lease after the TTL and the key is deleted. A prefix watch sees the put (online) and
 * the delete (offline); `discover` lists the prefix; `watch` keeps a live set for a round robin.
 */
import { Etcd3, type IKeyValue, type IOptions, type Lease, type Watcher } from "etcd3";

export interface Instance {
  readonly service: string;
  readonly instance: string;
  readonly address: string;
}

export type InstanceCallback = (instance: Instance) => void;

/** etcd3's watch reconnect backoff (a cockatiel IBackoff), spelled out so the example needs no cockatiel import. */
type WatchBackoff = NonNullable<NonNullable<IOptions["faultHandling"]>["watchBackoff"]>;

export interface RegistryOptions {
  /** Client endpoints, `host:port` or `http://host:port`; give every member so the client fails over. */
  readonly endpoints: string | readonly string[];
  /** Key prefix (default `/service/`). */
  readonly prefix?: string;
  /** Longest pause between watch reconnect attempts (default 1000 ms; etcd3's own default grows to 30 s). */
  readonly maxReconnectDelayMs?: number;
  /** Pause before registering again after a lease was lost (default 500 ms). */
  readonly reRegisterDelayMs?: number;
  /**
   * A user of a cluster with auth on (etcd3 authenticates and renews the token). Give a service a
   * role that can write only its own prefix, `<prefix><service>/` (README.md, "With auth").
   */
  readonly auth?: { readonly username: string; readonly password: string };
}

/** Doubling from 100 ms up to `maxMs`: how fast a watch stream moves to another member. */
function cappedBackoff(maxMs: number, duration = 0): WatchBackoff {
  return { duration, next: () => cappedBackoff(maxMs, Math.min(maxMs, Math.max(100, duration * 2))) };
}

const byName = (a: Instance, b: Instance): number => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0);

function checkName(what: string, name: string): void {
  if (name === "" || name.includes("/")) throw new Error(`${what} must be non-empty and contain no "/": ${JSON.stringify(name)}`);
}

export class Registry {
  readonly client: Etcd3;
  readonly prefix: string;
  private readonly reRegisterDelayMs: number;
  private readonly registrations = new Set<Registration>();
  private readonly watches = new Set<ServiceWatch>();

  constructor(opts: RegistryOptions) {
    const hosts = typeof opts.endpoints === "string" ? opts.endpoints.split(",") : [...opts.endpoints];
    this.client = new Etcd3({
      hosts,
      faultHandling: { watchBackoff: cappedBackoff(opts.maxReconnectDelayMs ?? 1000) },
      ...(opts.auth ? { auth: { username: opts.auth.username, password: opts.auth.password } } : {}),
    });
    this.prefix = opts.prefix ?? "/service/";
    this.reRegisterDelayMs = opts.reRegisterDelayMs ?? 500;
  }

  servicePrefix(service: string): string {
    checkName("service", service);
    return `${this.prefix}${service}/`;
  }

  key(service: string, instance: string): string {
    checkName("instance", instance);
    return this.servicePrefix(service) + instance;
  }

  /** Puts the instance's key under a new lease of `ttlSeconds` and keeps the lease alive until deregister/release. */
  async register(service: string, instance: string, address: string, ttlSeconds: number): Promise<Registration> {
    const reg = new Registration(this.client, { service, instance, address }, this.key(service, instance), ttlSeconds, this.reRegisterDelayMs);
    try {
      await reg.attach();
    } catch (e) {
      reg.release();
      throw e;
    }
    this.registrations.add(reg);
    return reg;
  }

  /** The instances registered now (a linearizable read), sorted by instance name. */
  async discover(service: string): Promise<Instance[]> {
    const prefix = this.servicePrefix(service);
    const kvs = await this.client.getAll().prefix(prefix).strings();
    return Object.entries(kvs)
      .map(([key, address]) => ({ service, instance: key.slice(prefix.length), address }))
      .sort(byName);
  }

  /** Lists the service, then watches it from the next revision. */
  async watch(service: string): Promise<ServiceWatch> {
    const w = new ServiceWatch(this.client, service, this.servicePrefix(service));
    await w.start();
    this.watches.add(w);
    return w;
  }

  /** Closes the watches and stops keep-alives (keys expire after the TTL; deregister removes them at once), then the client. */
  async close(): Promise<void> {
    for (const r of this.registrations) r.release();
    await Promise.all([...this.watches].map((w) => w.close()));
    this.client.close();
  }
}

/** One registered instance. If its lease is lost (revoked, or unreachable for 2 x TTL) it registers again. */
export class Registration {
  private lease: Lease | undefined;
  private generation = 0;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  /** How many times the lease was lost and the instance registered again under a new lease. */
  reRegistrations = 0;

  constructor(
    private readonly client: Etcd3,
    readonly instance: Instance,
    readonly key: string,
    readonly ttlSeconds: number,
    private readonly retryMs: number,
  ) {}

  /** The current lease's ID (decimal string). */
  leaseId(): Promise<string> {
    return this.lease ? this.lease.grant() : Promise.reject(new Error("not registered"));
  }

  /** @internal Grants a lease (keep-alive starts with the grant) and puts the key under it. */
  async attach(): Promise<void> {
    const gen = ++this.generation;
    const lease = this.client.lease(this.ttlSeconds);
    this.lease = lease;
    lease.on("lost", () => this.attachLater(gen));
    try {
      await lease.put(this.key).value(this.instance.address);
    } catch (e) {
      this.attachLater(gen);
      throw e;
    }
  }

  private attachLater(gen: number): void {
    if (this.closed || gen !== this.generation) return;
    this.generation++; // a second report about the same lease is ignored
    this.lease?.release();
    this.timer = setTimeout(() => {
      this.reRegistrations++;
      this.attach().catch(() => undefined); // a failure schedules the next attempt
    }, this.retryMs);
  }

  /** Revokes the lease: the key is deleted at once and watchers see the instance go offline. */
  async deregister(): Promise<void> {
    const lease = this.lease;
    this.release();
    await lease?.revoke();
  }

  /** Stops keeping the lease alive without revoking it: the key expires after the TTL (what a crash looks like). */
  release(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.lease?.release();
  }
}

/** The live instances of one service, kept by a prefix watch; callbacks for changes; a round-robin picker. */
export class ServiceWatch {
  private readonly live = new Map<string, Instance>();
  private readonly online = new Set<InstanceCallback>();
  private readonly offline = new Set<InstanceCallback>();
  private watcher: Watcher | undefined;
  /** Highest revision applied: events at or below it are not applied twice. */
  private applied = 0n;
  private closed = false;
  /** Times the watch stream was lost (member down) and resumed from the last seen revision. */
  disconnects = 0;
  /** Times the watch was cancelled by the server (e.g. compacted revision) and rebuilt from a fresh list. */
  resyncs = 0;

  constructor(
    private readonly client: Etcd3,
    readonly service: string,
    private readonly prefix: string,
  ) {}

  /** @internal Lists the prefix (state at revision R), then watches from R + 1. */
  async start(): Promise<void> {
    const res = await this.client.getAll().prefix(this.prefix).exec();
    const rev = BigInt(res.header.revision);
    if (this.closed) return;
    if (rev > this.applied) {
      const listed = new Map(res.kvs.map((kv) => [kv.key.toString(), kv]));
      for (const key of [...this.live.keys()]) if (!listed.has(key)) this.remove(key);
      for (const [key, kv] of listed) this.upsert(key, kv);
      this.applied = rev;
    }
    const w = await this.client.watch().prefix(this.prefix).startRevision(String(rev + 1n)).create();
    if (this.closed) return void (await w.cancel());
    this.watcher = w;
    w.on("put", (kv: IKeyValue) => this.event(kv, () => this.upsert(kv.key.toString(), kv)));
    w.on("delete", (kv: IKeyValue) => this.event(kv, () => this.remove(kv.key.toString())));
    // etcd3 re-creates the watcher (on any member) from the last revision it saw: no event is lost.
    let connected = true;
    w.on("connected", () => (connected = true));
    w.on("disconnected", () => {
      if (connected) this.disconnects++; // once per lost stream (etcd3 reports each failed attempt too)
      connected = false;
    });
    // A cancelled watch (e.g. its revision was compacted away while disconnected): list and watch again.
    w.on("error", () => void this.restart());
  }

  private async restart(): Promise<void> {
    this.watcher = undefined; // cancelled by the server already: cancelling it again would wait forever
    this.resyncs++;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        await this.start();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** attempt)));
      }
    }
  }

  private event(kv: IKeyValue, apply: () => void): void {
    const rev = BigInt(kv.mod_revision);
    if (rev <= this.applied) return;
    apply();
    this.applied = rev;
  }

  private upsert(key: string, kv: IKeyValue): void {
    const address = kv.value.toString();
    const prev = this.live.get(key);
    const instance: Instance = { service: this.service, instance: key.slice(this.prefix.length), address };
    this.live.set(key, instance);
    // a keep-alive does not write; a put with the same address is a re-registration under a new lease
    if (prev?.address !== address) for (const cb of this.online) cb(instance);
  }

  private remove(key: string): void {
    const instance = this.live.get(key);
    if (!instance) return;
    this.live.delete(key);
    for (const cb of this.offline) cb(instance);
  }

  /** The live instances, sorted by instance name. */
  instances(): Instance[] {
    return [...this.live.values()].sort(byName);
  }

  /** Called for each instance that comes online (or changes address) from now on; returns an unsubscribe function. */
  onOnline(cb: InstanceCallback): () => void {
    this.online.add(cb);
    return () => this.online.delete(cb);
  }

  /** Called for each instance that goes offline (deregistered or lease expired); returns an unsubscribe function. */
  onOffline(cb: InstanceCallback): () => void {
    this.offline.add(cb);
    return () => this.offline.delete(cb);
  }

  picker(): RoundRobin {
    return new RoundRobin(() => this.instances());
  }

  /** Cancels the watch (waits at most 2 s for the server to confirm). */
  async close(): Promise<void> {
    this.closed = true;
    this.online.clear();
    this.offline.clear();
    const cancelled = this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
    await Promise.race([cancelled, new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}

/**
 * Round robin over a changing set: each pick is the next instance (by name) after the previous pick,
 * wrapping around, so instances that come and go do not disturb the rotation of the others.
 */
export class RoundRobin {
  private last: string | undefined;

  constructor(private readonly source: () => readonly Instance[]) {}

  next(): Instance | undefined {
    const list = this.source();
    if (list.length === 0) return undefined;
    const last = this.last;
    const pick = (last === undefined ? undefined : list.find((i) => i.instance > last)) ?? list[0]!;
    this.last = pick.instance;
    return pick;
  }
}
