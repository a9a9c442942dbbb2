/** etcd-ts's own version (the etcd API version it implements is API_VERSION in etcdserver/server.ts). */
export const ETCD_TS_VERSION = "0.1.0";
