/**
 * Namespace hosts need OpenSSH's server and client; install them (Debian) when missing, as the
 * ssh deploy test does. A machine that still lacks them fails the test that needs them: only the
 * absence of network namespaces is a reason to skip.
 */
import { spawnSync } from "node:child_process";
import { sshdUnavailable } from "../../ansible-free-scripts/hosts/sshd.js";

export function ensureSshd(): void {
  if (!sshdUnavailable()) return;
  spawnSync("sh", ["-c", "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq openssh-server openssh-client >/dev/null 2>&1)"], { timeout: 300_000 });
  const why = sshdUnavailable();
  if (why) throw new Error(`namespace hosts need OpenSSH: ${why}, and installing openssh-server failed`);
}
