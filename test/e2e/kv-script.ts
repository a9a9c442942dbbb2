/**
 * One etcdctl session exercising the KV API: run against real etcd and against etcd-ts, the
 * normalized outputs must be identical. Each step is [args, stdin?].
 */
export type Step = readonly [args: readonly string[], stdin?: string];

const J = ["-w", "json"];
const big = "v".repeat(3000);

export const KV_SCRIPT: readonly Step[] = [
  [["put", "foo", "bar", ...J]],
  [["put", "foo", "bar2", "--prev-kv", ...J]],
  [["put", "foo1", "v1"]],
  [["put", "foo2", "v2"]],
  [["put", "fop", "x"]],
  [["put", "zoo", "z"]],
  [["put", "a b", "space"]],
  [["get", "foo", ...J]],
  [["get", "foo"]],
  [["get", "foo", "--prefix", ...J]],
  [["get", "foo", "--from-key", ...J]],
  [["get", "", "--from-key", "--keys-only", ...J]],
  [["get", "foo", "zoo", ...J]],
  [["get", "zoo", "foo", ...J]],
  [["get", "foo", "--prefix", "--limit=2", ...J]],
  [["get", "foo", "--prefix", "--sort-by=MODIFY", "--order=DESCEND", ...J]],
  [["get", "foo", "--prefix", "--sort-by=VALUE", "--order=ASCEND", ...J]],
  [["get", "foo", "--prefix", "--sort-by=CREATE", "--order=DESCEND", "--limit=1", ...J]],
  [["get", "foo", "--prefix", "--sort-by=VERSION", ...J]],
  [["get", "foo", "--prefix", "--keys-only", ...J]],
  [["get", "foo", "--prefix", "--print-value-only"]],
  [["get", "foo", "--rev=2", ...J]],
  [["get", "foo", "--prefix", "--consistency=s", ...J]],
  [["get", "nope", ...J]],
  [["put", "foo", "--ignore-value", ...J]],
  [["get", "foo", ...J]],
  [["put", "nokey", "--ignore-value"]],
  [["put", "foo", "x", "--ignore-lease"]],
  [["put", "foo", "x", "--lease=1234abcd"]],
  [["put", "", "x"]],
  [["get", "", ...J]],
  [["del", "foo1", ...J]],
  [["del", "foo1", ...J]],
  [["del", "fo", "--prefix", "--prev-kv", ...J]],
  [["get", "", "--from-key", ...J]],
  [["put", "foo", "again", ...J]],
  [["get", "foo", ...J]],
  [["del", "zoo", "a", ...J]],
  // txn in etcdctl's interactive form, read from stdin: compares, blank, success ops, blank, failure ops
  [["txn", "-i", ...J], 'mod("foo") > "0"\n\nput foo x1\nget foo\n\nput foo y1\n\n'],
  [["txn", "-i", ...J], 'value("foo") = "nomatch"\n\nput foo x2\n\nput foo y2\nget foo --prefix\ndel nothing\n\n'],
  [["txn", "-i", ...J], 'version("foo") = "2"\ncreate("foo") < "100"\n\nget foo\n\n\n'],
  [["txn", "-i", ...J], 'ver("zzz") = "0"\n\nput zzz 1\nput zzz2 2\n\n\n'],
  [["txn", "-i", ...J], 'mod("zzz") != "0"\n\ndel zzz\nget zzz --prefix\n\n\n'],
  [["txn", "-i"], 'value("foo") = "y1"\n\nput foo z\n\nget foo\n\n'],
  [["txn", "-i", ...J], "\nput d 1\nput d 2\n\n\n"],
  [["txn", "-i", ...J], "\nput d 1\ndel d\n\n\n"],
  [["txn", "-i", ...J], "\nput t1 1\nput t2 2\nput t3 3\nput t4 4\nput t5 5\n\n\n"],
  [["txn", "-i", ...J], "\nput t1 1\nput t2 2\nput t3 3\n\n\n"],
  [["put", "large", big]],
  [["get", "foo", "--rev=100000", ...J]],
  [["compaction", "5"]],
  [["get", "foo", "--rev=4", ...J]],
  [["get", "foo", "--rev=5", ...J]],
  [["compaction", "4"]],
  [["compaction", "100000"]],
  [["compaction", "--physical", "8"]],
  [["get", "", "--from-key", ...J]],
  [["get", "", "--from-key", "--rev=8", "--keys-only", ...J]],
  [["del", "", "--from-key", ...J]],
  [["get", "", "--from-key", ...J]],
];

/** Flags both servers get, so that the limit cases are reachable with small requests. */
export const SCRIPT_SERVER_FLAGS = ["--max-txn-ops=4", "--max-request-bytes=2048"] as const;
