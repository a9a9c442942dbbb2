import { createServer, type Server } from "node:net";
import type { GrpcServer } from "../../server/grpcwire/grpc-server.js";

/** A grpcwire server on 127.0.0.1:<any port> with nothing in front (no listener sniffing): for unit tests. */
export async function listenGrpc(server: GrpcServer): Promise<{ endpoint: string; port: number; close(): Promise<void> }> {
  const net: Server = createServer({ noDelay: true }, (socket) => void server.attach(socket));
  await new Promise<void>((resolve) => net.listen(0, "127.0.0.1", resolve));
  const port = (net.address() as { port: number }).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.destroy();
        net.close(() => resolve());
      }),
  };
}
