/** IPv4 and CIDR arithmetic for the topology model (pure). */
import { TopologyError } from "./errors.js";

export interface Ipv4Subnet {
  readonly cidr: string;
  readonly network: number;
  readonly prefix: number;
  /** Addresses in the block, network and broadcast included. */
  readonly size: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIpv4(s: string): boolean {
  const m = IPV4.exec(s);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255 && String(Number(p)) === p);
}

export function ipToInt(s: string): number {
  if (!isIpv4(s)) throw new TopologyError(`"${s}" is not an IPv4 address`);
  return s.split(".").reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function parseSubnet(cidr: string): Ipv4Subnet {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(cidr);
  if (!m || !isIpv4(m[1]!) || Number(m[2]) > 32) throw new TopologyError(`subnet "${cidr}" is not an IPv4 CIDR block like 172.28.3.0/24`);
  const prefix = Number(m[2]);
  const size = 2 ** (32 - prefix);
  const addr = ipToInt(m[1]!);
  if (addr % size !== 0) {
    throw new TopologyError(`subnet "${cidr}" has host bits set: the block is ${intToIp(addr - (addr % size))}/${prefix}`);
  }
  return { cidr, network: addr, prefix, size };
}

export function contains(subnet: Ipv4Subnet, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= subnet.network && n < subnet.network + subnet.size;
}

export function overlaps(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** Usable host addresses: everything but the network and broadcast address. */
export function usableHosts(subnet: Ipv4Subnet): number {
  return Math.max(0, subnet.size - 2);
}
