/** gRPC status codes (the numbers on the wire, as grpc-go's codes package). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A call's final status: a code and its message (grpc-message). */
export interface GrpcStatus {
  readonly code: number;
  readonly message: string;
}

export const STATUS_OK: GrpcStatus = { code: Code.OK, message: "" };

/**
 * grpc-message as the gRPC HTTP/2 protocol spells it: UTF-8, with every byte outside printable ASCII and every "%"
 * percent-encoded (grpc-go's encodeGrpcMessage). Most messages need nothing, so the common case returns its input.
 */
export function encodeGrpcMessage(msg: string): string {
  let plain = true;
  for (let i = 0; i < msg.length; i++) {
    const c = msg.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return msg;
  let out = "";
  for (const b of Buffer.from(msg, "utf8")) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

/** The trailers (or the trailers of a Trailers-Only response) that carry a status. */
export function statusFields(s: GrpcStatus): Record<string, string> {
  const out: Record<string, string> = { "grpc-status": String(s.code) };
  // grpc-go leaves grpc-message out when it is empty
  if (s.message !== "") out["grpc-message"] = encodeGrpcMessage(s.message);
  return out;
}
