/**
 * A DNS server on 127.0.0.1 (UDP, the dns2 library) answering SRV and A questions from a table the test
 * gives; every other name is NXDOMAIN. For --discovery-srv tests: etcd-ts is pointed at it with
 * ETCDTS_DNS_SERVERS, or (etcd) through an ip-netns resolv.conf.
 */
import dns2 from "dns2";

export interface SrvAnswer {
  readonly target: string;
  readonly port: number;
  readonly priority?: number;
  readonly weight?: number;
}

export interface SrvDns {
  /** host:port for ETCDTS_DNS_SERVERS. */
  readonly server: string;
  readonly questions: string[];
  close(): Promise<void>;
}

interface BitWriter {
  names?: Map<string, number>;
  write(value: number, bits: number): void;
}
interface SrvCodec {
  encode(record: { priority: number; weight: number; port: number; target: string }, writer: BitWriter): void;
}

/**
 * RFC 2782: an SRV target is never compressed, and Go's resolver (etcd's) refuses a message where it is
 * ("cannot unmarshal DNS message"); dns2 compresses every name, so its SRV encoder is replaced by one
 * that writes the target's labels in full.
 */
function encodeSrvTargetsUncompressed(): void {
  const packet = dns2.Packet as unknown as { Resource: { SRV: SrvCodec }; Name: { encode(name: string, writer: BitWriter): void } };
  packet.Resource.SRV.encode = (record, writer) => {
    writer.write(record.priority, 16);
    writer.write(record.weight, 16);
    writer.write(record.port, 16);
    const names = writer.names;
    writer.names = undefined;
    try {
      packet.Name.encode(record.target, writer);
    } finally {
      writer.names = names;
    }
  };
}

export async function startSrvDns(srv: ReadonlyMap<string, readonly SrvAnswer[]>, a: ReadonlyMap<string, string> = new Map(), port = 0, address = "127.0.0.1"): Promise<SrvDns> {
  const { Packet } = dns2;
  encodeSrvTargetsUncompressed();
  const questions: string[] = [];
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request);
      const q = request.questions[0];
      if (q) {
        const name = q.name.toLowerCase().replace(/\.$/, "");
        questions.push(name);
        const records = q.type === Packet.TYPE.SRV ? srv.get(name) : q.type === Packet.TYPE.A && a.has(name) ? [] : undefined;
        if (q.type === Packet.TYPE.SRV && records) {
          for (const r of records as readonly SrvAnswer[]) {
            response.answers.push({ name: q.name, type: Packet.TYPE.SRV, class: Packet.CLASS.IN, ttl: 5, priority: r.priority ?? 0, weight: r.weight ?? 0, port: r.port, target: r.target } as never);
          }
        } else if (q.type === Packet.TYPE.A && a.has(name)) {
          response.answers.push({ name: q.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: 5, address: a.get(name)! } as never);
        } else if (!srv.has(name) && !a.has(name)) {
          response.header.rcode = 3; // NXDOMAIN
        }
      }
      void send(response);
    },
  });
  const addrs = await server.listen({ udp: { port, address, type: "udp4" } as never });
  return {
    server: `${address}:${addrs.udp!.port}`,
    questions,
    close: () => server.close(),
  };
}
