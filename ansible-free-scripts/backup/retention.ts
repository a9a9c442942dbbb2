/**
 * Backup file names and the retention rule, pure (no clock, no I/O: `now` and the listing are
 * arguments), so the rule is tested without files or waiting.
 *
 * A backup is `<cluster>-<UTC timestamp>.db` (timestamp `YYYYMMDDTHHMMSSmmmZ`: sorts as it reads,
 * no ':' so it is a valid file name everywhere) with a `.json` sidecar beside it.
 */

export interface BackupEntry {
  /** The `.db` file name (no directory). */
  readonly file: string;
  readonly takenAt: Date;
}

export interface RetentionRule {
  /** Keep at most this many backups of the cluster (the newest). */
  readonly keep?: number;
  /** Remove backups older than this many milliseconds. */
  readonly maxAgeMs?: number;
}

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/;

export function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace(".", "");
}

export function backupFileName(cluster: string, takenAt: Date): string {
  return `${cluster}-${timestamp(takenAt)}.db`;
}

/** The time in a backup file name of `cluster`, or undefined when the name is not one of its backups. */
export function parseBackupFileName(cluster: string, file: string): Date | undefined {
  const prefix = `${cluster}-`;
  if (!file.startsWith(prefix) || !file.endsWith(".db")) return undefined;
  const m = STAMP.exec(file.slice(prefix.length, -".db".length));
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  const t = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, +ms!));
  return Number.isNaN(t.getTime()) || timestamp(t) !== file.slice(prefix.length, -".db".length) ? undefined : t;
}

/** The backups of `cluster` among the names of a directory, newest first. */
export function listBackups(cluster: string, names: readonly string[]): BackupEntry[] {
  const out: BackupEntry[] = [];
  for (const file of names) {
    const takenAt = parseBackupFileName(cluster, file);
    if (takenAt) out.push({ file, takenAt });
  }
  return out.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
}

/**
 * The backups to remove: those beyond the newest `keep`, and those older than `maxAgeMs`. The
 * newest backup is never removed, whatever its age: a cluster whose backups stopped working must
 * not end with none.
 */
export function expiredBackups(entries: readonly BackupEntry[], rule: RetentionRule, now: Date): BackupEntry[] {
  const sorted = [...entries].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
  return sorted.filter((e, i) => {
    if (i === 0) return false;
    if (rule.keep !== undefined && i >= rule.keep) return true;
    return rule.maxAgeMs !== undefined && now.getTime() - e.takenAt.getTime() > rule.maxAgeMs;
  });
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d", "36h", "90m", "2w", "45s" -> milliseconds. */
export function parseAge(text: string): number {
  const m = /^([1-9]\d{0,5})([smhdw])$/.exec(text);
  if (!m) throw new Error(`--max-age wants a whole number and a unit (s, m, h, d, w), e.g. 7d; got "${text}"`);
  return Number(m[1]) * UNITS[m[2]!]!;
}
