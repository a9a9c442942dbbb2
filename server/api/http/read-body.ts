import type { IncomingMessage } from "node:http";
import { EtcdError, GrpcCode } from "../../pb/errors.js";

/** A request body, refused past `limit` bytes as etcd refuses a too-large request. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new EtcdError(GrpcCode.InvalidArgument, "etcdserver: request is too large"));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
