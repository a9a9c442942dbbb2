import * as grpc from "@grpc/grpc-js";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Logger } from "../log/logger.js";
import type { Member } from "../membership/cluster.js";
import { idToHex } from "../membership/ids.js";
import { clientConstructor } from "../pb/grpc-services.js";
import { encodeMessage } from "../raft/message-codec.js";
import { MessageType, type Message } from "../raft/types.js";
import { identityHeaders, identityMetadata, type PeerIdentity } from "./handshake.js";
import { RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL } from "./raft-stream-receiver.js";
import { PeerSender } from "./peer-sender.js";
import { SNAPSHOT_CHUNK_BYTES } from "./limits.js";
import { PeerDialer } from "../tls/peer-dialer.js";

export interface TransportHooks {
  reportUnreachable(id: bigint): void;
  reportSnapshot(id: bigint, ok: boolean): void;
  onRemoved(): void;
  /** A consistent copy of the backend for a snapshot message, as a file (deleted after sending). */
  backendCopy(): Promise<string>;
}


/** How long a peer has to answer a raft stream's upgrade. */
const RAFT_STREAM_DIAL_MS = 5_000;

/**
 * Sends raft messages to peers: one PeerSender raft stream per peer, snapshots on their own gRPC
 * call so a large transfer never blocks heartbeats. Peers come and go with membership (setPeers).
 */
export class Transport {
  private readonly peers = new Map<bigint, { urls: string; client: grpc.Client; sender: PeerSender }>();
  private readonly Ctor = clientConstructor("etcdtspeer", "Peer");

  constructor(
    private readonly localId: bigint,
    private clusterId: bigint,
    private readonly hooks: TransportHooks,
    private readonly logger: Logger,
    /** Plaintext or TLS by the peer URL's scheme (server/tls/peer-dialer.ts). */
    private readonly dialer: PeerDialer = new PeerDialer(undefined),
  ) {}

  setClusterId(id: bigint): void {
    this.clusterId = id;
  }

  /** Reconciles the peer set with the cluster's members (self excluded). */
  setPeers(members: readonly Member[]): void {
    const wanted = new Map(members.filter((m) => m.id !== this.localId && m.peerUrls.length > 0).map((m) => [m.id, m]));
    for (const [id, p] of this.peers) {
      const m = wanted.get(id);
      if (!m || m.peerUrls.join(",") !== p.urls) {
        p.sender.close();
        p.client.close();
        this.peers.delete(id);
      }
    }
    for (const [id, m] of wanted) {
      if (this.peers.has(id)) continue;
      const target = new URL(m.peerUrls[0]!).host;
      const client = new this.Ctor(target, this.dialer.credentials(m.peerUrls[0]!), {
        "grpc.max_send_message_length": -1,
        "grpc.max_receive_message_length": 64 * 1024, // peers answer snapshots with empty acknowledgements
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1000,
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
        "grpc.enable_channelz": 0, // nothing reads it; it costs allocations per call and message
      });
      const url = m.peerUrls[0]!;
      const dial = (identity: PeerIdentity) => this.dialer.upgrade(url, RAFT_STREAM_PATH, RAFT_STREAM_PROTOCOL, identityHeaders(identity), RAFT_STREAM_DIAL_MS);
      const sender = new PeerSender(dial, { clusterId: this.clusterId, from: this.localId, to: id }, this.hooks, this.logger);
      this.peers.set(id, { urls: m.peerUrls.join(","), client, sender });
    }
  }

  /** Sends one Ready's messages: each peer's share is written to its stream as one batch, now. */
  send(messages: readonly Message[]): void {
    const touched = new Set<PeerSender>();
    for (const m of messages) {
      const p = this.peers.get(m.to);
      if (!p) continue;
      if (m.type === MessageType.Snap) void this.sendSnapshot(p.client, m);
      else if (p.sender.enqueue(m)) touched.add(p.sender);
    }
    for (const s of touched) s.flush();
  }

  /** Members whose stream is up now, and since when (etcd's notion of an active peer). */
  activeSince(id: bigint): number {
    return this.peers.get(id)?.sender.connectedSince ?? 0;
  }

  private async sendSnapshot(client: grpc.Client, m: Message): Promise<void> {
    const to = m.to;
    this.logger.info({ "remote-peer-id": idToHex(to), "snapshot-index": m.snapshot?.metadata.index }, "sending database snapshot");
    let file: string | undefined;
    try {
      file = await this.hooks.backendCopy();
      await new Promise<void>((resolve, reject) => {
        const call = (client as unknown as { Snapshot: (md: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => grpc.ClientWritableStream<object> }).Snapshot(
          identityMetadata({ clusterId: this.clusterId, from: this.localId, to }),
          (err) => (err ? reject(new Error(err.details || err.message)) : resolve()),
        );
        call.write({ message: Buffer.from(encodeMessage(m)) });
        const rs = createReadStream(file!, { highWaterMark: SNAPSHOT_CHUNK_BYTES });
        rs.on("data", (chunk) => {
          if (!call.write({ db: chunk })) {
            rs.pause();
            call.once("drain", () => rs.resume());
          }
        });
        rs.on("end", () => call.end());
        rs.on("error", (e) => {
          call.cancel();
          reject(e);
        });
      });
      this.logger.info({ "remote-peer-id": idToHex(to) }, "sent database snapshot");
      this.hooks.reportSnapshot(to, true);
    } catch (e) {
      this.logger.warn({ "remote-peer-id": idToHex(to), error: (e as Error).message }, "failed to send database snapshot");
      this.hooks.reportSnapshot(to, false);
    } finally {
      if (file) await rm(file, { force: true });
    }
  }

  close(): void {
    for (const p of this.peers.values()) {
      p.sender.close();
      p.client.close();
    }
    this.peers.clear();
  }
}
