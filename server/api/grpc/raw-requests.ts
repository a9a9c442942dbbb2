import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

/** The same service definition, but the named methods hand their handler the raw bytes too. */
export function keepRawBytes(def: ServiceDefinition, methods: readonly string[]): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(def)) {
    const md = m as MethodDefinition<unknown, unknown>;
    out[name] = methods.includes(name) ? { ...md, requestDeserialize: (b: Buffer) => ({ raw: b, msg: md.requestDeserialize(b) }) } : md;
  }
  return out as ServiceDefinition;
}
