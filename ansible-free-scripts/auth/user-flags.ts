/**
 * Credentials from the command line, consistent with etcdctl: `--user NAME:PASSWORD`, or `--user NAME`
 * with the password from `--password-file FILE` (one trailing newline dropped) or the environment
 * variable ETCDCTL_PASSWORD (etcdctl's variable for --password). A password on the command line is
 * visible to every user of the machine (ps), so the file or the variable is the better choice.
 */
import { readFileSync } from "node:fs";
import type { Credentials } from "./auth-client.js";

export const USER_FLAGS_HELP = `  --user NAME[:PASSWORD]
                        authenticate as this user (etcdctl's --user); the password after ':', else from
                        --password-file, else from the variable ETCDCTL_PASSWORD
  --password-file FILE  the password of --user (one trailing newline is dropped)`;

export function credentialsFromFlags(user: string | undefined, passwordFile: string | undefined, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  if (user === undefined) {
    if (passwordFile !== undefined) throw new Error("--password-file needs --user");
    return undefined;
  }
  const colon = user.indexOf(":");
  const name = colon < 0 ? user : user.slice(0, colon);
  if (name === "") throw new Error("--user wants NAME or NAME:PASSWORD");
  if (colon >= 0) {
    if (passwordFile !== undefined) throw new Error("--user NAME:PASSWORD and --password-file exclude each other");
    return { user: name, password: user.slice(colon + 1) };
  }
  if (passwordFile !== undefined) {
    let pw: string;
    try {
      pw = readFileSync(passwordFile, "utf8").replace(/\r?\n$/, "");
    } catch (e) {
      throw new Error(`--password-file ${passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return { user: name, password: pw };
  }
  const pw = env.ETCDCTL_PASSWORD;
  if (pw === undefined) throw new Error(`--user ${name} needs a password: NAME:PASSWORD, --password-file FILE or ETCDCTL_PASSWORD`);
  return { user: name, password: pw };
}
