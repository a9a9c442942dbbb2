/**
 * etcdctl's printers for `snapshot status` (printer_simple/table/json/fields.go): the same text,
 * byte for byte, for the same status.
 */
import type { SnapshotStatus } from "../etcdserver/backup/snapshot-status.js";
import { CliError } from "./cli-flags.js";

/** go-humanize's Bytes (SI units), as etcdctl prints sizes. */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return `${val < 10 ? val.toFixed(1) : goFixed0(val)} ${sizes[e]}`;
}

/** Go's %.0f: an exact half rounds to even (20.5 -> "20"), where toFixed rounds it up. */
function goFixed0(v: number): string {
  const f = Math.floor(v);
  if (v - f === 0.5) return String(f % 2 === 0 ? f : f + 1);
  return v.toFixed(0);
}

function statusRow(s: SnapshotStatus): string[] {
  return [s.hash.toString(16), String(s.revision), String(s.totalKey), humanizeBytes(s.totalSize)];
}

/** olekukonko/tablewriter as etcdctl sets it up: headers upper-cased and centred, cells right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = "+" + widths.map((w) => "-".repeat(w + 2)).join("+") + "+";
  const centre = (t: string, w: number) => {
    const gap = w - t.length;
    const left = Math.floor(gap / 2);
    return " ".repeat(left) + t + " ".repeat(gap - left);
  };
  const out = [line, "|" + header.map((h, i) => ` ${centre(h.toUpperCase(), widths[i]!)} `).join("|") + "|", line];
  for (const r of rows) out.push("|" + r.map((c, i) => ` ${c.padStart(widths[i]!)} `).join("|") + "|");
  out.push(line);
  return out.join("\n") + "\n";
}

export function formatDbStatus(s: SnapshotStatus, writeOut: string): string {
  switch (writeOut) {
    case "simple":
      return statusRow(s).join(", ") + "\n";
    case "table":
      return renderTable(["hash", "revision", "total keys", "total size"], [statusRow(s)]);
    case "json":
      return JSON.stringify({ hash: s.hash, revision: s.revision, totalKey: s.totalKey, totalSize: s.totalSize }) + "\n";
    case "fields":
      return `"Hash" : ${s.hash}\n"Revision" : ${s.revision}\n"Keys" : ${s.totalKey}\n"Size" : ${s.totalSize}\n`;
    default:
      throw new CliError(`unsupported output format "${writeOut}"`);
  }
}
