import type { StreamHandler, UnaryHandler } from "../../grpcwire/grpc-server.js";

/** How a method is served: one request (unary, server stream) or a stream of them (client stream, bidi). */
export type MethodHandler = { readonly unary: UnaryHandler<unknown, unknown> } | { readonly stream: StreamHandler<unknown, unknown> };

/** A service's handlers by method name, as the proto names them. */
export type ServiceHandlers = Readonly<Record<string, MethodHandler>>;

export function unaryHandler<Req, Res>(h: UnaryHandler<Req, Res>): MethodHandler {
  return { unary: h as UnaryHandler<unknown, unknown> };
}

export function streamHandler<Req, Res>(h: StreamHandler<Req, Res>): MethodHandler {
  return { stream: h as StreamHandler<unknown, unknown> };
}
