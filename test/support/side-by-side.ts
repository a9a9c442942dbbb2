import { after, before } from "node:test";
import { startMember, type MemberProcess, type StartOptions } from "./launcher.js";

/**
 * The differential fixture: Debian's etcd and etcd-ts started with the same options before the
 * suite's tests, both killed and their data removed after. `use` receives the pair once started.
 */
export function sideBySide(use: (etcd: MemberProcess, ours: MemberProcess) => void, opts: StartOptions = {}): void {
  const started: MemberProcess[] = [];
  before(async () => {
    const [etcd, ours] = await Promise.all([startMember("etcd", opts), startMember("etcd-ts", opts)]);
    started.push(etcd, ours);
    use(etcd, ours);
  });
  after(async () => {
    await Promise.all(started.map((m) => m.dispose()));
  });
}
