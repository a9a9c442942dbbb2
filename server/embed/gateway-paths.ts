/**
 * The JSON gateway routes (server/api/http) whose request body is a stream of requests that may stay open for as
 * long as the client likes (etcd's grpc-gateway streams them the same way): the listener's body deadline does not
 * apply to them. Keep in step with the streaming routes in http-api.ts.
 */
export const GATEWAY_STREAMING_BODIES: ReadonlySet<string> = new Set(["/v3/watch", "/v3/lease/keepalive", "/v3beta/watch", "/v3beta/lease/keepalive"]);
