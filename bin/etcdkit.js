#!/usr/bin/env node
// etcdkit: one command for the kit. Each subcommand lives in its own layer and exports main(argv) -> exit code.
const commands = {
  bench: "../dist/bench/cli.js",
  compare: "../dist/bench/compare-cli.js",
  local: "../dist/ansible-free-scripts/local/cli.js",
  pki: "../dist/pki/cli.js",
  auth: "../dist/ansible-free-scripts/auth/auth-cli.js",
  backup: "../dist/ansible-free-scripts/backup/backup-cli.js",
  restore: "../dist/ansible-free-scripts/backup/restore-cli.js",
  ssh: "../dist/ansible-free-scripts/ssh/cli.js",
  deploy: "../dist/stacks/cli/cdktf-cli.js",
  output: "../dist/stacks/cli/cdktf-cli.js",
  destroy: "../dist/stacks/cli/cdktf-cli.js",
  k8s: "../dist/stacks/cli/k8s-cli.js",
};
const [sub, ...rest] = process.argv.slice(2);
if (!sub || sub === "--help" || sub === "-h" || !(sub in commands)) {
  process.stdout.write(
    "Usage: etcdkit <command> [options]\n\n" +
      "  bench     bring up topologies, run workloads, write a report, tear down (etcdkit bench --help)\n" +
      "  compare   compare two benchmark result files (etcdkit compare a.json b.json)\n" +
      "  local     run a cluster as local processes: up, status, logs, stop, kill, start, down\n" +
      "  backup    save a verified snapshot from a cluster's leader, with retention (etcdkit backup --help)\n" +
      "  restore   a new local cluster from a snapshot (etcdkit restore --help)\n" +
      "  auth      apply an auth file (users, roles, permissions) to a cluster and enable auth (etcdkit auth --help)\n" +
      "  pki       make a CA, member and client certificates for a TLS cluster (etcdkit pki --help)\n" +
      "  ssh       deploy to hosts over SSH with systemd: deploy, rolling-restart, status, teardown\n" +
      "  deploy    cdktf deploy STACK with the pinned CDKTF CLI, after checking Terraform and providers (etcdkit deploy --help)\n" +
      "  output    cdktf output STACK (e.g. --outputs-file FILE for etcdkit bench --stack-outputs)\n" +
      "  destroy   cdktf destroy STACK\n" +
      "  k8s       Kubernetes stacks: scale-down (remove members before lowering the replica count), auth-secret (the auth Job's Secret)\n",
  );
  process.exit(sub && !(sub in commands) && sub !== "--help" && sub !== "-h" ? 2 : 0);
}
const mod = await import(commands[sub]);
// deploy/output/destroy share one module, which takes the verb first.
process.exitCode = ["deploy", "output", "destroy"].includes(sub) ? await mod.main(sub, rest) : await mod.main(rest);
