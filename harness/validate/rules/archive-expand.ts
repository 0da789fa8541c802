// Words of an archive_command or a script as they run: $1, $2 and the script's variables
// resolved, and wrapper programs (env, exec, timeout, sudo…) stepped over. Pure: no I/O.

/** What a word's expansion reads: the arguments ($1, $2…) and the variables the script set. */
export interface Expansion {
  args: string[];
  vars: Map<string, string>;
}

const POSITIONAL = /\$\{(\d+)\}|\$(\d)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** A word with $1, ${2}, $NAME (of variables the script set) and `$(basename $1)` resolved. */
export function expand(word: string, context: Expansion): string {
  let out = word.replace(/\$\{(\d+)##\*\/\}/g, (_m, n: string) => `$(basename ${context.args[Number(n)] ?? ''})`);
  out = out.replace(POSITIONAL, (match, braced?: string, digit?: string, bracedName?: string, name?: string) => {
    const n = braced ?? digit;
    if (n !== undefined) return context.args[Number(n)] ?? match;
    return context.vars.get(bracedName ?? name!) ?? match;
  });
  return out.replace(/\$\(\s*basename\s+"?%p"?\s*\)|`\s*basename\s+"?%p"?\s*`/g, '%f');
}

export const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Options of wrapper programs that take a value: the wrapped command comes after them. */
const WRAPPER_VALUES: Record<string, RegExp> = {
  env: /^-[uCS]$|^--(unset|chdir|split-string)$/,
  nice: /^-n$|^--adjustment$/,
  ionice: /^-[cnp]$/,
  timeout: /^-[sk]$|^--(signal|kill-after)$/,
  sudo: /^-[ugpCDhrtUT]$/,
  flock: /^-[wEc]$/,
  nohup: /^$/,
  exec: /^-a$/,
  command: /^$/,
  time: /^$/,
  stdbuf: /^$/,
};

/** The words from the wrapped program on, for env, nice, timeout, sudo, exec and their kind. */
export function unwrap(words: string[]): string[] {
  let w = words;
  for (;;) {
    const name = w[0]?.split('/').at(-1) ?? '';
    const values = WRAPPER_VALUES[name];
    if (!values) return w;
    let i = 1;
    while (i < w.length && (w[i]!.startsWith('-') || ASSIGNMENT.test(w[i]!))) i += values.test(w[i]!) ? 2 : 1;
    if (name === 'timeout' && i < w.length) i++; // the duration
    if (name === 'flock' && i < w.length) i++; // the lock file
    w = w.slice(i);
  }
}
