/**
 * The few etcd v3 calls a pod makes about membership (Status, MemberList, MemberAdd, MemberRemove),
 * over gRPC with the server's own .proto files: this runs inside the image, next to the server.
 */
import { readFileSync } from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { clientConstructor } from "../../server/api/proto/load.js";

export interface ClusterMember {
  /** uint64 as a decimal string. */
  readonly id: string;
  /** Empty until the member has started and published its name. */
  readonly name: string;
  readonly peerUrls: readonly string[];
  readonly clientUrls: readonly string[];
}

/** What membership changes need; an interface so the decision logic is tested without a cluster. */
export interface ClusterClient {
  /** The leader's ID as the member at `url` sees it ("0": none). */
  leader(url: string): Promise<string>;
  members(url: string): Promise<ClusterMember[]>;
  add(url: string, peerUrls: readonly string[]): Promise<{ id: string; members: ClusterMember[] }>;
  remove(url: string, id: string): Promise<ClusterMember[]>;
}

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;
interface WireMember {
  ID: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

const toMember = (m: WireMember): ClusterMember => ({ id: String(m.ID), name: m.name ?? "", peerUrls: [...(m.peerURLs ?? [])], clientUrls: [...(m.clientURLs ?? [])] });

function target(url: string): string {
  return new URL(url).host;
}

/** PEM files of a TLS client: the CA, and the certificate and key presented to the member. */
export interface ClientCertificateFiles {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

function credentialsFor(url: string, tls: ClientCertificateFiles | undefined): grpc.ChannelCredentials {
  if (!url.startsWith("https:")) return grpc.credentials.createInsecure();
  if (!tls) throw new Error(`${url} is https but the member has no certificate to present (ETCD_CERT_FILE, ETCD_KEY_FILE, ETCD_TRUSTED_CA_FILE)`);
  return grpc.credentials.createSsl(readFileSync(tls.ca), readFileSync(tls.key), readFileSync(tls.cert));
}

/** One gRPC call on a fresh connection, closed afterwards (a pod makes a handful of these). */
function call<T>(url: string, service: "Cluster" | "Maintenance", method: string, req: unknown, timeoutMs: number, tls?: ClientCertificateFiles): Promise<T> {
  const Ctor = clientConstructor("etcdserverpb", service);
  let client: grpc.Client;
  try {
    client = new Ctor(target(url), credentialsFor(url, tls));
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  return new Promise<T>((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: unknown, o: grpc.CallOptions, cb: Callback) => void>)[method]!;
    fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(new Error(`${method} at ${url}: ${err.details || err.message}`));
      else resolve(res as T);
    });
  });
}

/** `tls`: for https members, the pod's own certificate (member certificates of etcdkit pki allow client authentication). */
export function grpcClusterClient(timeoutMs = 3000, tls?: ClientCertificateFiles): ClusterClient {
  return {
    leader: async (url) => String((await call<{ leader: string }>(url, "Maintenance", "Status", {}, timeoutMs, tls)).leader),
    members: async (url) => (await call<{ members: WireMember[] }>(url, "Cluster", "MemberList", {}, timeoutMs, tls)).members.map(toMember),
    add: async (url, peerUrls) => {
      const r = await call<{ member: WireMember; members: WireMember[] }>(url, "Cluster", "MemberAdd", { peerURLs: peerUrls, isLearner: false }, timeoutMs, tls);
      return { id: String(r.member.ID), members: r.members.map(toMember) };
    },
    remove: async (url, id) => (await call<{ members: WireMember[] }>(url, "Cluster", "MemberRemove", { ID: id }, timeoutMs, tls)).members.map(toMember),
  };
}
