/**
 * Kept for callers outside server/ (bench/, changed in parallel): the loading moved to the wire
 * layer, `server/pb/proto.ts` and `server/pb/grpc-services.ts`. Nothing in server/ imports this.
 */
export { LOADER_OPTIONS, MAX_MESSAGE_NESTING, PROTO_DIR, PROTO_FILES } from "../../pb/proto.js";
export { clientConstructor, etcdApi, serviceDefinition } from "../../pb/grpc-services.js";
