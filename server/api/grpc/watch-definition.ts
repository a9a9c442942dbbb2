import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { serviceDefinition } from "../../pb/grpc-services.js";
import { serializeWatchResponse } from "../../pb/watch-response.js";

type Serialize = (value: unknown) => Buffer;

/** A Buffer is an already encoded WatchResponse (pb/watch-response.ts): sent as is. Anything else is serialized. */
const passThrough: Serialize = (value) => (Buffer.isBuffer(value) ? value : serializeWatchResponse(value));

/** The Watch service definition the gRPC server registers: a copy whose responses may be Buffers made by encodeEventResponse. */
export function watchDefinitionPassingBuffers(): ServiceDefinition {
  const watchDef = serviceDefinition("etcdserverpb", "Watch");
  return { ...watchDef, Watch: { ...(watchDef.Watch as MethodDefinition<unknown, unknown>), responseSerialize: passThrough } };
}
