/** Milliseconds per grpc-timeout unit (the gRPC HTTP/2 protocol: Hours, Minutes, Seconds, milliseconds, microseconds, nanoseconds). */
const UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * A grpc-timeout header's value in milliseconds: undefined when the header is absent, null when it is malformed
 * (grpc-go resets such a stream: at most 8 digits and a known unit, as its decodeTimeout reads it).
 */
export function parseGrpcTimeout(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  if (v.length < 2 || v.length > 9) return null;
  const unit = UNIT_MS[v[v.length - 1]!];
  const digits = v.slice(0, -1);
  if (unit === undefined || !/^[0-9]+$/.test(digits)) return null;
  return Number(digits) * unit;
}
