type Obj = Record<string, unknown>;

/** Server-chosen lease IDs become L1, L2…, whether printed in hex (inside keys) or decimal (fields). */
export function leaseNormalizer() {
  const ids = new Map<string, string>();
  const byHex = (hex: string) => {
    const k = hex.replace(/^0+/, "");
    if (!ids.has(k)) ids.set(k, `L${ids.size + 1}`);
    return ids.get(k)!;
  };
  const str = (s: string) => s.replace(/\/([0-9a-f]{10,16})\b/g, (_m, h: string) => `/${byHex(h)}`);
  const deep = (v: unknown, field = ""): unknown => {
    if (Buffer.isBuffer(v)) return str(v.toString());
    if (Array.isArray(v)) return v.map((x) => deep(x));
    if (v && typeof v === "object") {
      const out: Obj = {};
      for (const [k, x] of Object.entries(v as Obj)) if (k !== "cluster_id" && k !== "member_id") out[k] = deep(x, k);
      return out;
    }
    if (typeof v === "string" && (field === "lease" || field === "ID") && /^\d{9,}$/.test(v)) return byHex(BigInt(v).toString(16));
    if (typeof v === "string") return str(v);
    return v;
  };
  return { deep, str, byHex };
}
