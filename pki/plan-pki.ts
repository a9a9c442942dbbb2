/** The PKI of a planned deployment: every member of the topology model gets its certificates. */
import type { TopologyPlan } from "../topology/topology.js";
import { ensurePki, type PkiMember, type PkiResult } from "./pki.js";

/**
 * Each planned member's SANs: name, address (and the host's listen address), container name; on
 * Kubernetes also the client Service's names (clients reach any member through it) and the node
 * address of the node ports.
 */
export function membersFromPlan(plan: TopologyPlan): PkiMember[] {
  const k = plan.kubernetes;
  const shared: string[] = [];
  if (k) {
    const svc = `${k.clientService}.${k.namespace}`;
    shared.push(k.clientService, svc, `${svc}.svc`, `${svc}.svc.${k.clusterDomain}`);
    if (k.nodeAddress) shared.push(k.nodeAddress);
  }
  return plan.members.map((m) => {
    const hosts = [m.name, m.address, ...shared];
    if (m.containerName) hosts.push(m.containerName);
    const listen = m.host?.listenAddress;
    if (listen && listen !== "0.0.0.0") hosts.push(listen);
    return { name: m.name, hosts: [...new Set(hosts)] };
  });
}

/**
 * Creates (or completes) the plan's PKI in its pkiDir before anything is deployed: a CA, each
 * member's server and peer certificate, the root client certificate. Nothing for an insecure plan.
 */
export async function ensurePlanPki(plan: TopologyPlan): Promise<PkiResult | null> {
  if (plan.insecure || !plan.clientTls) return null;
  return ensurePki({ dir: plan.clientTls.pkiDir, members: membersFromPlan(plan) });
}
