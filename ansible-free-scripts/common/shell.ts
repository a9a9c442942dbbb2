/**
 * The one way a value enters a shell command line that etcdkit builds (the remote scripts, the
 * --dry-run listing): POSIX single quotes. Inside '...' no character is special, so the only thing
 * to escape is the single quote itself ('\''). Words made only of characters no shell treats
 * specially are left bare so that printed commands stay readable.
 *
 * Values are validated before they get here (topology/safe-values.ts); quoting is the
 * second wall, not the first. NUL cannot be carried by any shell word and is refused.
 */

const BARE = /^[A-Za-z0-9_./:=@+,-]+$/;

/** One shell word holding exactly `value`. */
export function shq(value: string | number): string {
  const s = String(value);
  if (s.includes("\0")) throw new Error(`a shell word cannot hold a NUL byte: ${JSON.stringify(s.slice(0, 80))}`);
  if (BARE.test(s) && !s.startsWith("=")) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A piece of script that `sh` inserts as it is (only for fragments built by `sh` itself or constants). */
export class ShellFragment {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Marks already-built script text (never a value) for insertion without quoting. */
export const raw = (text: string) => new ShellFragment(text);

/**
 * Tagged template for script lines: every interpolated value is quoted with `shq`, so a line
 * cannot forget to. `sh\`mkdir -p ${dir}\`` → `mkdir -p '/opt/a b'`. Fragments from `raw()` are
 * inserted as they are.
 */
export function sh(strings: TemplateStringsArray, ...values: readonly (string | number | ShellFragment)[]): string {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += (v instanceof ShellFragment ? v.text : shq(v)) + strings[i + 1]!;
  });
  return out;
}

/** A here-document delimiter that no line of `body` equals (so a printed script cannot end early). */
export function heredocDelimiter(body: string, base = "ETCDKIT_SCRIPT"): string {
  const lines = new Set(body.split("\n"));
  let d = base;
  for (let i = 1; lines.has(d); i++) d = `${base}_${i}`;
  return d;
}
