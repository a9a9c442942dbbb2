/**
 * The cluster's alarms (etcd's v3alarm.AlarmStore): which member raised which alarm. Changed only by
 * applied Alarm entries, so every member holds the same set, and kept in the backend's `alarm`
 * bucket (written in the apply's backend batch, with the consistent index) so it survives a restart.
 * A row's key is the member ID (8 bytes, big-endian) and the alarm type (int32, big-endian); its
 * value is empty. (etcd keys the row with the protobuf AlarmMember, which is empty for member 0 and
 * alarm NONE: a key bbolt refuses, and etcd stops. Any pair is stored here.)
 */
import type { Bucket } from "../backend/backend.js";

export const ALARM_BUCKET = "alarm";

/** etcd's AlarmType (any other number is stored as given, as etcd does). */
export enum AlarmType {
  None = 0,
  NoSpace = 1,
  Corrupt = 2,
}

export const ALARM_NAMES: Readonly<Record<number, string>> = { 0: "NONE", 1: "NOSPACE", 2: "CORRUPT" };

export interface AlarmMember {
  readonly memberId: bigint;
  readonly alarm: number;
}

/** gogo's String() of an AlarmMember, as etcd's Status lists it: `memberID:<id> alarm:<NAME> `. */
export function alarmText(a: AlarmMember): string {
  // proto text format leaves zero values out: member 0 and alarm NONE are not printed
  return `${a.memberId !== 0n ? `memberID:${a.memberId} ` : ""}${a.alarm !== 0 ? `alarm:${ALARM_NAMES[a.alarm] ?? a.alarm} ` : ""}`;
}

export class AlarmStore {
  /** alarm type -> member id -> the alarm */
  private types = new Map<number, Map<bigint, AlarmMember>>();

  constructor(private readonly bucket: Bucket) {
    this.recover();
  }

  /** (Re)loads from the bucket: at open, and after a snapshot from the leader replaced the backend. */
  recover(): void {
    this.types = new Map();
    for (const key of this.bucket.keys()) if (key.length === KEY_BYTES) this.add({ memberId: key.readBigUInt64BE(0), alarm: key.readInt32BE(8) });
  }

  /** Raises `alarm` for `memberId`: the alarm as stored (the existing one if it was raised already). */
  activate(memberId: bigint, alarm: number): AlarmMember {
    const existing = this.types.get(alarm)?.get(memberId);
    if (existing) return existing;
    const m = { memberId, alarm };
    this.add(m);
    this.bucket.put(keyOf(m), Buffer.alloc(0));
    return m;
  }

  /** Clears `alarm` of `memberId`: the alarm cleared, or undefined if it was not raised. */
  deactivate(memberId: bigint, alarm: number): AlarmMember | undefined {
    const set = this.types.get(alarm);
    const m = set?.get(memberId);
    if (!set || !m) return undefined;
    set.delete(memberId);
    if (set.size === 0) this.types.delete(alarm);
    this.bucket.remove(keyOf(m));
    return m;
  }

  /** The alarms of one type; AlarmType.None: every alarm. In type, then member ID order. */
  get(alarm: number = AlarmType.None): AlarmMember[] {
    const types = alarm === AlarmType.None ? [...this.types.keys()].sort((a, b) => a - b) : [alarm];
    return types.flatMap((t) => [...(this.types.get(t)?.values() ?? [])].sort((a, b) => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)));
  }

  has(alarm: number): boolean {
    return (this.types.get(alarm)?.size ?? 0) > 0;
  }

  private add(m: AlarmMember): void {
    let set = this.types.get(m.alarm);
    if (!set) this.types.set(m.alarm, (set = new Map()));
    set.set(m.memberId, m);
  }
}

const KEY_BYTES = 12;

function keyOf(m: AlarmMember): Buffer {
  const k = Buffer.alloc(KEY_BYTES);
  k.writeBigUInt64BE(BigInt.asUintN(64, m.memberId), 0);
  k.writeInt32BE(m.alarm | 0, 8);
  return k;
}
