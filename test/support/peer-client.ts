/**
 * A raw client of etcd-ts's peer port for hostile-input tests: raft streams (the HTTP upgrade and
 * frames) and the etcdtspeer.Peer Snapshot call, carrying whatever identity and raft message bytes a
 * test crafts. No size limit of its own.
 */
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/pb/grpc-services.js";
import { PeerDialer } from "../../server/tls/peer-dialer.js";
import { encodeFrames, FrameKind } from "../../server/transport/frames.js";
import { identityHeaders, identityMetadata, type PeerIdentity } from "../../server/transport/handshake.js";
import { RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL } from "../../server/transport/raft-stream-receiver.js";

export interface CallOutcome {
  readonly ok: boolean;
  readonly code?: grpc.status;
  readonly details?: string;
}

/** How a raft stream ended: accepted and closed in order, refused at the upgrade (HTTP status), or cut by the member. */
export interface StreamOutcome {
  readonly ok: boolean;
  readonly status?: number;
  readonly details?: string;
  /** The member cut the accepted stream (we saw a reset or a broken pipe). */
  readonly cut: boolean;
  /** Bytes the member sent back after the upgrade (pongs, a removal notice). */
  readonly answer?: Buffer;
}

export class PeerClient {
  private readonly client: grpc.Client;
  constructor(private readonly peerUrl: string) {
    const Ctor = clientConstructor("etcdtspeer", "Peer");
    this.client = new Ctor(new URL(peerUrl).host, grpc.credentials.createInsecure(), { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 });
  }

  private open(method: "Snapshot", id: PeerIdentity, done: (o: CallOutcome) => void): grpc.ClientWritableStream<object> {
    const call = (this.client as unknown as Record<string, (md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<object>>)[method]!.call(
      this.client,
      identityMetadata(id),
      { deadline: Date.now() + 30_000 },
      (e) => done(e ? { ok: false, code: e.code, details: e.details } : { ok: true }),
    );
    call.on("error", () => undefined);
    return call;
  }

  /** One raft stream carrying `batches` of encoded raft messages (one write each), then closed by us; resolves with how it ended. */
  async stream(id: PeerIdentity, batches: Uint8Array[][], headers: Record<string, string> = identityHeaders(id)): Promise<StreamOutcome> {
    const u = await new PeerDialer(undefined).upgrade(this.peerUrl, RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, headers, 30_000);
    if (!u.ok) return { ok: false, cut: false, status: u.status, details: u.body };
    const socket = u.socket;
    const answer: Buffer[] = [u.head];
    return new Promise((resolve) => {
      let error: Error | undefined;
      socket.on("data", (c: Buffer) => answer.push(c));
      socket.on("error", (e) => (error = e));
      socket.on("close", () => resolve({ ok: !error, cut: error !== undefined, details: error?.message, answer: Buffer.concat(answer) }));
      for (const b of batches) socket.write(encodeFrames(b.map((payload) => ({ kind: FrameKind.Message, payload }))));
      socket.end();
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
