/** The backup and restore commands' output: one line at a time, on stdout or stderr. */
export const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : s + "\n");
export const err = (s: string) => process.stderr.write(s.endsWith("\n") ? s : s + "\n");
