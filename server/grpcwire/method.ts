/** go-grpc-prometheus's grpc_type, which is also how a method's messages flow. */
export type CallKind = "unary" | "server_stream" | "client_stream" | "bidi_stream";

/** One method the server serves: its path, how its messages flow, and its codecs. */
export interface MethodSpec<Req, Res> {
  /** "/package.Service/Method" */
  readonly path: string;
  readonly kind: CallKind;
  readonly decode: (bytes: Buffer) => Req;
  readonly encode: (message: Res) => Buffer;
}

/**
 * A response message already encoded, or as good as: it writes its own bytes where they go (ServerCall.writeMessage
 * puts them straight into the connection's write when it can), so a message sent to many streams is not a buffer each.
 */
export interface EncodedMessage {
  readonly length: number;
  /** Writes the message's `length` bytes at `at`. */
  writeTo(buf: Buffer, at: number): void;
}

export function callKind(requestStream: boolean, responseStream: boolean): CallKind {
  if (requestStream && responseStream) return "bidi_stream";
  if (requestStream) return "client_stream";
  if (responseStream) return "server_stream";
  return "unary";
}

/** "package.Service" and "Method" of a path (grpc-go's split at the last slash). */
export function splitPath(path: string): { service: string; method: string } | undefined {
  const p = path.startsWith("/") ? path.slice(1) : path;
  const slash = p.lastIndexOf("/");
  if (slash < 0) return undefined;
  return { service: p.slice(0, slash), method: p.slice(slash + 1) };
}
