/**
 * WatchResponse bytes without a protobuf encode per watcher.
 *
 * A committed revision fans out to every watcher of the key; each watcher's response differs only
 * in watch_id (and the canceled / compact_revision / fragment flags). The header and the events are
 * encoded once (by the same protobufjs serializer the Watch method uses) and cached; a watcher's
 * response is those bytes with its own small fields spliced in between. The output is byte for byte
 * what the method's responseSerialize makes of the equivalent object (test/watch/watch-encode.test.ts):
 * protobufjs writes fields in field-number order and writes every field that is present in the
 * object, zero values included (watch_id 0 -> `10 00`, canceled false -> `20 00`, ...).
 *
 * The gRPC adapter registers a copy of the Watch definition whose responseSerialize sends a Buffer
 * unchanged (api/grpc/watch-service.ts); objects (created, canceled, progress responses) are
 * serialized as before. The JSON gateway keeps getting objects.
 */
import { headerToWire, kvToWire } from "./convert.js";
import type { Event, Header } from "./kv.js";
import { messageCodec } from "./proto.js";
import type { WireKeyValue } from "./wire.js";
import { int64Len, writeInt64 } from "./varint.js";

export interface WireEvent {
  type: number;
  kv: WireKeyValue;
  prev_kv?: WireKeyValue;
}

export function eventToWire(e: Event): WireEvent {
  const out: WireEvent = { type: e.type, kv: kvToWire(e.kv) };
  if (e.prevKv) out.prev_kv = kvToWire(e.prevKv);
  return out;
}

const watchResponse = messageCodec<unknown>("etcdserverpb.WatchResponse");
/** The protobufjs serializer of WatchResponse objects (the Watch method's own). */
export const serializeWatchResponse = (value: unknown): Buffer => watchResponse.encode(value);

// ------------------------------------------------------------------ cached pieces

const EMPTY: Buffer = Buffer.alloc(0);

let lastHeader: Header | undefined;
let lastHeaderBytes: Buffer = EMPTY;

/** Field 1 (header) of a WatchResponse, tag included. The last header's bytes are kept. */
export function headerBytes(h: Header): Buffer {
  const l = lastHeader;
  if (l === undefined || l.revision !== h.revision || l.raftTerm !== h.raftTerm || l.clusterId !== h.clusterId || l.memberId !== h.memberId) {
    lastHeaderBytes = serializeWatchResponse({ header: headerToWire(h) });
    lastHeader = { clusterId: h.clusterId, memberId: h.memberId, revision: h.revision, raftTerm: h.raftTerm };
  }
  return lastHeaderBytes;
}

/** Events are immutable and shared by every watcher that gets them: their bytes are kept beside them. */
const eventCache = new WeakMap<Event, Buffer>();
const eventsCache = new WeakMap<readonly Event[], Buffer>();

/** One repeated field 11 (events) entry, tag and length included. */
export function eventBytes(e: Event): Buffer {
  let b = eventCache.get(e);
  if (b === undefined) {
    b = serializeWatchResponse({ events: [eventToWire(e)] });
    eventCache.set(e, b);
  }
  return b;
}

// The last array asked for: a fan-out asks for the same array once per watcher.
let lastEvents: readonly Event[] | undefined;
let lastEventsBytes: Buffer = EMPTY;

/** Every events entry of a response, in order (the store hands one array to all watchers of a revision). */
export function eventsBytes(events: readonly Event[]): Buffer {
  if (events === lastEvents) return lastEventsBytes;
  let b: Buffer;
  if (events.length === 0) b = EMPTY;
  else if (events.length === 1) b = eventBytes(events[0]!);
  else {
    let cached = eventsCache.get(events);
    if (cached === undefined) {
      cached = Buffer.concat(events.map(eventBytes));
      eventsCache.set(events, cached);
    }
    b = cached;
  }
  lastEvents = events;
  lastEventsBytes = b;
  return b;
}

// ------------------------------------------------------------------ responses

/** The per-watcher fields of a response carrying store events (what WatchSession puts in the object). */
export interface EventResponseFields {
  readonly watchId: number;
  /** Written with canceled = (compactRevision !== 0). */
  readonly compactRevision: number;
  /** undefined: no fragment field (as in the object, where it is absent). */
  readonly fragment?: boolean;
}

/** Encoded size of a response made of `header`, `f` and events of `eventsLength` bytes. */
export function eventResponseSize(header: Buffer, f: EventResponseFields, eventsLength: number): number {
  return header.length + 1 + int64Len(f.watchId) + 2 + 1 + int64Len(f.compactRevision) + (f.fragment === undefined ? 0 : 2) + eventsLength;
}

/**
 * The bytes responseSerialize makes of
 * `{ header, watch_id, events, compact_revision, canceled: compact_revision !== 0 [, fragment] }`:
 * header (1), watch_id (2), canceled (4), compact_revision (5), fragment (7), events (11).
 * `events` are concatenated events entries (eventsBytes, or eventBytes of each). The response writes itself where
 * it goes (the gRPC stream's write, in place), so a fan-out costs no buffer per watcher.
 */
export class EventResponse {
  readonly length: number;

  constructor(
    private readonly header: Buffer,
    private readonly f: EventResponseFields,
    private readonly events: Buffer | readonly Buffer[],
  ) {
    let evLen = 0;
    if (Buffer.isBuffer(events)) evLen = events.length;
    else for (const e of events) evLen += e.length;
    this.length = eventResponseSize(header, f, evLen);
  }

  writeTo(out: Buffer, at: number): void {
    const { header, f, events } = this;
    out.set(header, at);
    let p = at + header.length;
    out[p++] = 0x10;
    p = writeInt64(out, p, f.watchId);
    out[p++] = 0x20;
    out[p++] = f.compactRevision !== 0 ? 1 : 0;
    out[p++] = 0x28;
    p = writeInt64(out, p, f.compactRevision);
    if (f.fragment !== undefined) {
      out[p++] = 0x38;
      out[p++] = f.fragment ? 1 : 0;
    }
    if (Buffer.isBuffer(events)) out.set(events, p);
    else
      for (const e of events) {
        out.set(e, p);
        p += e.length;
      }
  }
}
