/**
 * A raw client of etcd-ts's peer port (the etcdtspeer.Peer service) for hostile-input tests: it
 * sends whatever identity metadata and raft message bytes a test crafts. No size limit of its own.
 */
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { identityMetadata, type PeerIdentity } from "../../server/transport/handshake.js";

export interface CallOutcome {
  readonly ok: boolean;
  readonly code?: grpc.status;
  readonly details?: string;
}

export class PeerClient {
  private readonly client: grpc.Client;
  constructor(peerUrl: string) {
    const Ctor = clientConstructor("etcdtspeer", "Peer");
    this.client = new Ctor(new URL(peerUrl).host, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 });
  }

  private open(method: "Stream" | "Snapshot", id: PeerIdentity, done: (o: CallOutcome) => void): grpc.ClientWritableStream<object> {
    const call = (this.client as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<object>>)[method]!.call(
      this.client,
      identityMetadata(id),
      { deadline: Date.now() + 30_000 },
      (e) => done(e ? { ok: false, code: e.code, details: e.details } : { ok: true }),
    );
    call.on("error", () => undefined);
    return call;
  }

  /** One Stream call carrying `batches` of encoded raft messages; resolves with how it ended. */
  stream(id: PeerIdentity, batches: Uint8Array[][]): Promise<CallOutcome> {
    return new Promise((resolve) => {
      const call = this.open("Stream", id, resolve);
      for (const b of batches) call.write({ messages: b.map((m) => Buffer.from(m)) });
      call.end();
    });
  }

  /** One Snapshot call with the given chunks. */
  snapshot(id: PeerIdentity, chunks: { message?: Uint8Array; db?: Uint8Array }[]): Promise<CallOutcome> {
    return new Promise((resolve) => {
      const call = this.open("Snapshot", id, resolve);
      for (const c of chunks) call.write({ message: Buffer.from(c.message ?? []), db: Buffer.from(c.db ?? []) });
      call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}
