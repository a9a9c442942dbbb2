import type { EtcdServer } from "../server.js";
import { headerToWire, toSafe } from "../../pb/convert.js";
import type { Int64, WireHeader } from "../../pb/wire.js";
import type { StoreWatchResponse, WatchSink, WatchStream } from "../../watch/watchable-store.js";
import { EventResponse, eventBytes, eventResponseSize, eventsBytes, eventToWire, headerBytes, type WireEvent } from "../../pb/watch-response.js";
import { SYSTEM_CLOCK, type Clock } from "../../util/clock.js";
import type { RequestContext } from "./context.js";
import type { Access } from "./access.js";
import { toApiError } from "./api-errors.js";
import { ErrAuthOldRevision, ErrInvalidAuthToken, ErrPermissionDenied, ErrUserEmpty, GrpcCode } from "../../pb/errors.js";

export interface WireWatchCreateRequest {
  key: Buffer;
  range_end: Buffer;
  start_revision: Int64;
  progress_notify: boolean;
  filters: number[];
  prev_kv: boolean;
  watch_id: Int64;
  fragment: boolean;
}

export interface WireWatchRequest {
  request_union?: "create_request" | "cancel_request" | "progress_request";
  create_request?: WireWatchCreateRequest | null;
  cancel_request?: { watch_id: Int64 } | null;
  progress_request?: object | null;
}

export type { WireEvent } from "../../pb/watch-response.js";

export interface WireWatchResponse {
  header: WireHeader;
  watch_id: number;
  created?: boolean;
  canceled?: boolean;
  compact_revision?: number;
  cancel_reason?: string;
  fragment?: boolean;
  events: WireEvent[];
}

/** etcd's clientv3.InvalidWatchID. */
const INVALID_WATCH_ID = -1;
/** etcd's v3rpc progressReportInterval default. */
export const DEFAULT_PROGRESS_NOTIFY_MS = 10 * 60 * 1000;
/** etcd's grpcOverheadBytes: watch responses are fragmented at max-request-bytes plus this. */
const GRPC_OVERHEAD_BYTES = 512 * 1024;
/** etcd's filter enum (WatchCreateRequest.FilterType). */
const FILTER_NOPUT = 0;
const FILTER_NODELETE = 1;

/** Where a session's responses go: a gRPC stream or the JSON gateway's HTTP response. */
export interface WatchOutput {
  write(r: WireWatchResponse): void;
  /**
   * Optional: the consumer takes encoded WatchResponses (the gRPC stream). Responses carrying store events then come
   * here, their header and events encoded once per revision and spliced per watcher as they are written
   * (pb/watch-response.ts), instead of as objects to `write`.
   */
  writeEncoded?(r: EventResponse): void;
  /** False while the consumer is backed up (the session's watchers then wait instead of queueing). */
  writable(): boolean;
}

export interface WatchSessionOptions {
  readonly maxRequestBytes: number;
  /** Progress notifications for watchers created with progress_notify (etcd: 10 min + up to 10% jitter). */
  readonly progressNotifyMs?: number;
  /** What times the progress notifications (default: the system clock). */
  readonly clock?: Clock;
}

/** What a session needs of the server: headers, and the store's watch streams. */
export type WatchedServer = Pick<EtcdServer, "header" | "watchable">;

/** The Watch service: one session per client stream (gRPC or the gateway's /v3/watch). */
export interface WatchService {
  /** A client's Watch stream: requests go to the session's handle(), responses to `out`. Throws ErrStopped once the server stops. */
  session(ctx: RequestContext, out: WatchOutput): WatchSession;
  /** A watch stream on the store itself, for the member's own recipes (Lock, Election). Throws once the server stops. */
  storeStream(ctx: RequestContext, sink: WatchSink): WatchStream;
}

/** Whether a stream's caller may watch [key, end) (etcd's isWatchPermitted, at creation): rejects with the reason. */
export type WatchPermit = (key: Buffer, end: Buffer) => Promise<void>;

export class WatchRequests implements WatchService {
  constructor(
    private readonly server: WatchedServer,
    private readonly opts: WatchSessionOptions,
    private readonly access?: Access,
  ) {}

  session(ctx: RequestContext, out: WatchOutput): WatchSession {
    const access = this.access;
    const permit: WatchPermit | undefined = access ? async (key, end) => void (await access.check(ctx, (a) => access.range(a, key, end))) : undefined;
    return new WatchSession(this.server, out, this.opts, permit);
  }

  storeStream(_ctx: RequestContext, sink: WatchSink): WatchStream {
    return this.server.watchable.newStream(sink);
  }
}

/**
 * One client Watch stream (etcd's serverWatchStream): create / cancel / progress requests, many
 * watchers with etcd's watch_id assignment, created/canceled responses, progress notifications and
 * fragmentation. Responses are written in the order things happen: a watcher's created response
 * always precedes its events, because the watcher is registered only after it is written.
 */
export class WatchSession {
  private readonly stream: WatchStream;
  /** watch ids that asked for progress notifications -> "nothing sent since the last tick" */
  private readonly progress = new Map<number, boolean>();
  private readonly fragment = new Set<number>();
  private readonly stopTicker: () => void;
  private readonly maxBytes: number;
  private closed = false;
  /** A progress request waits for the stream's watchers to catch up (requestProgress). */
  private progressDeferred = false;
  /** A create request waiting for its permission check: later requests queue behind it, in order. */
  private queue: Promise<void> | undefined;

  constructor(
    private readonly server: WatchedServer,
    private readonly out: WatchOutput,
    opts: WatchSessionOptions,
    private readonly permit?: WatchPermit,
  ) {
    this.maxBytes = opts.maxRequestBytes + GRPC_OVERHEAD_BYTES;
    this.stream = server.watchable.newStream({ writable: () => out.writable(), send: (r) => this.onStoreResponse(r), synced: () => this.onSynced() });
    const interval = opts.progressNotifyMs ?? DEFAULT_PROGRESS_NOTIFY_MS;
    this.stopTicker = (opts.clock ?? SYSTEM_CLOCK).every(interval + Math.floor(Math.random() * (interval / 10)), () => this.progressTick());
  }

  private header(rev: number): WireHeader {
    return headerToWire(this.server.header(rev));
  }

  handle(req: WireWatchRequest): void {
    if (this.closed) return;
    if (this.queue) {
      const q: Promise<void> = this.queue.then(() => this.handleNow(req));
      this.queue = q;
      void q.finally(() => {
        if (this.queue === q) this.queue = undefined;
      });
      return;
    }
    const pending = this.handleNow(req);
    if (pending) {
      this.queue = pending;
      void pending.finally(() => {
        if (this.queue === pending) this.queue = undefined;
      });
    }
  }

  private handleNow(req: WireWatchRequest): void | Promise<void> {
    if (this.closed) return;
    if (req.create_request && this.permit) return this.createPermitted(req.create_request);
    if (req.create_request) this.create(req.create_request);
    else if (req.cancel_request) this.cancel(toSafe(req.cancel_request.watch_id));
    else if (req.progress_request) this.requestProgress();
    // anything else is ignored, as etcd does
  }

  private create(c: WireWatchCreateRequest): void {
    let key = c.key ?? Buffer.alloc(0);
    if (key.length === 0) key = Buffer.from([0]); // "\x00" is the smallest key (etcd)
    let end: Buffer | undefined = c.range_end && c.range_end.length > 0 ? c.range_end : undefined;
    if (end && end.length === 1 && end[0] === 0) end = Buffer.alloc(0); // ">= key"
    const filters = c.filters ?? [];
    const wsrev = this.stream.rev();
    let rev = toSafe(c.start_revision);
    if (rev === 0) rev = wsrev + 1;
    const spec = {
      key,
      end,
      startRev: rev,
      noPut: filters.includes(FILTER_NOPUT),
      noDelete: filters.includes(FILTER_NODELETE),
      prevKv: !!c.prev_kv,
    };
    try {
      // the created response is written before the watcher is registered: its events can only follow it
      this.stream.watch(toSafe(c.watch_id), spec, (id) => {
        if (c.progress_notify) this.progress.set(id, true);
        if (c.fragment) this.fragment.add(id);
        this.out.write({ header: this.header(wsrev), watch_id: id, created: true, events: [] });
      });
    } catch (e) {
      this.out.write({ header: this.header(wsrev), watch_id: INVALID_WATCH_ID, created: true, canceled: true, cancel_reason: (e as Error).message, events: [] });
    }
  }

  /** etcd checks the key and end as it normalized them ("\0" end: the key alone is checked, as etcd does). */
  private createPermitted(c: WireWatchCreateRequest): Promise<void> {
    const key = c.key && c.key.length > 0 ? c.key : Buffer.from([0]);
    const end = c.range_end && !(c.range_end.length === 1 && c.range_end[0] === 0) ? c.range_end : Buffer.alloc(0);
    return this.permit!(key, end).then(
      () => this.create(c),
      (e: unknown) => {
        if (this.closed) return;
        const reason = watchRefusal(e);
        this.out.write({ header: this.header(this.stream.rev()), watch_id: INVALID_WATCH_ID, created: true, canceled: true, cancel_reason: reason, events: [] });
      },
    );
  }

  /**
   * A progress request is answered (watch_id -1: every watch of the stream) once no watcher of the stream has
   * history left to catch up, as later etcd releases do: a notification at revision R must not overtake events at
   * or below R that a watcher still owes. etcd 3.4.23 answers at once; its catch-up runs up to 100 ms later.
   */
  private requestProgress(): void {
    if (this.stream.allSynced()) this.writeProgress();
    else this.progressDeferred = true;
  }

  private onSynced(): void {
    if (!this.progressDeferred || this.closed || !this.stream.allSynced()) return;
    this.progressDeferred = false;
    this.writeProgress();
  }

  private writeProgress(): void {
    this.out.write({ header: this.header(this.stream.rev()), watch_id: INVALID_WATCH_ID, events: [] });
  }

  private cancel(id: number): void {
    if (!this.stream.cancel(id)) return; // unknown id: no response (etcd)
    this.out.write({ header: this.header(this.stream.rev()), watch_id: id, canceled: true, events: [] });
    this.progress.delete(id);
    this.fragment.delete(id);
    this.onSynced(); // the watcher a progress request waited for may be the one canceled
  }

  /** The object form of a store response (what the JSON gateway gets; the gRPC stream gets its bytes). */
  private toWire(r: StoreWatchResponse): WireWatchResponse {
    return {
      header: this.header(r.revision),
      watch_id: r.watchId,
      events: r.events.map(eventToWire),
      compact_revision: r.compactRevision,
      canceled: r.compactRevision !== 0,
    };
  }

  /** A store response whole: encoded when the output takes bytes (the hot path of a fan-out). */
  private sendWhole(r: StoreWatchResponse, header?: Buffer): void {
    if (this.out.writeEncoded) this.out.writeEncoded(new EventResponse(header ?? headerBytes(this.server.header(r.revision)), r, eventsBytes(r.events)));
    else this.out.write(this.toWire(r));
  }

  private onStoreResponse(r: StoreWatchResponse): void {
    if (this.closed) return;
    if (r.events.length > 1 && this.fragment.has(r.watchId)) this.sendFragments(r);
    else this.sendWhole(r);
    if (r.events.length > 0 && this.progress.get(r.watchId)) this.progress.set(r.watchId, false);
  }

  /**
   * etcd's sendFragments: split at maxRequestBytes (+ gRPC overhead) when there is more than one
   * event. Sizes are the encoded sizes (the same whether the parts then go out as bytes or objects).
   */
  private sendFragments(r: StoreWatchResponse): void {
    const header = headerBytes(this.server.header(r.revision));
    const parts = r.events.map(eventBytes);
    let total = 0;
    for (const p of parts) total += p.length;
    if (eventResponseSize(header, r, total) < this.maxBytes) {
      this.sendWhole(r, header);
      return;
    }
    const fields = { watchId: r.watchId, compactRevision: r.compactRevision };
    const base = eventResponseSize(header, { ...fields, fragment: true }, 0);
    let wr: WireWatchResponse | undefined;
    let idx = 0;
    while (idx < parts.length) {
      const start = idx;
      let size = base;
      while (idx < parts.length) {
        const s = parts[idx]!.length;
        if (idx > start && size + s >= this.maxBytes) break;
        size += s;
        idx++;
      }
      const last = idx === parts.length;
      if (this.out.writeEncoded) this.out.writeEncoded(new EventResponse(header, { ...fields, fragment: !last }, parts.slice(start, idx)));
      else {
        wr ??= this.toWire(r);
        this.out.write({ ...wr, events: wr.events.slice(start, idx), fragment: !last });
      }
    }
  }

  private progressTick(): void {
    for (const [id, idle] of this.progress) {
      if (idle) this.stream.requestProgress(id);
      this.progress.set(id, true);
    }
  }

  /** The consumer drained: watchers held back can catch up. */
  drained(): void {
    this.stream.writable();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopTicker();
    this.stream.close();
  }
}

/**
 * etcd's cancel reason for a refused watch: the gRPC status text of its API error (a status error's
 * Error(): "rpc error: code = … desc = …"), PermissionDenied's for anything else.
 */
function watchRefusal(e: unknown): string {
  const api = toApiError(e);
  const known = [ErrInvalidAuthToken, ErrAuthOldRevision, ErrUserEmpty].find((k) => k.message === api.message) ?? ErrPermissionDenied;
  return `rpc error: code = ${GrpcCode[known.code]} desc = ${known.message}`;
}
