import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";

/** A raw gRPC client for one etcd service on one endpoint (host:port), with promise-returning unary calls. */
export function grpcClient(endpoint: string, service: "KV" | "Maintenance" | "Cluster" | "Lease" | "Watch") {
  const Ctor = clientConstructor("etcdserverpb", service);
  const client = new Ctor(endpoint, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1 });
  const call = <Res = Record<string, unknown>>(method: string, req: object): Promise<Res> =>
    new Promise((resolve, reject) => {
      (client[method] as (r: object, cb: (e: grpc.ServiceError | null, r: Res) => void) => void).call(client, req, (e, r) => (e ? reject(e) : resolve(r)));
    });
  return { call, close: () => client.close() };
}
