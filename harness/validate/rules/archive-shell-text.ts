// The first pass of reading an archive_command or a script: the shell text rewritten so the
// engine's shell reader (simpleCommands) reads it as the shell would for the archive rules, with
// marker words carrying line numbers and redirections through. Pure: no I/O.

/** Word prefixes the preparation pass writes for the shell reader to carry through: a line number, a redirection. */
export const LINE = '\u0002';
export const REDIRECT = '\u0001';

/** Quotes a text so the shell reader takes it as one literal word. */
function literal(text: string): string {
  return `'${text.replace(/'/g, '')}'`;
}

/** The index of the `)` closing the `(` at `open`, skipping quotes; the text's end when none. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") i = Math.max(i, text.indexOf("'", i + 1) < 0 ? text.length : text.indexOf("'", i + 1));
    else if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return text.length - 1;
}

/**
 * Rewrites shell text so simpleCommands reads it as the shell would for our purposes: comments and
 * line continuations removed, `$(…)` and backquotes kept as one word, redirections made words of
 * their own (REDIRECT+fd+op), fd duplications (2>&1) dropped, here-documents skipped, a newline
 * after && || | joined, `(` `)` separated, and a LINE marker word at the start of each line.
 */
export function prepare(text: string): string {
  let out = `${LINE}1 `;
  let line = 1;
  let wordStart = true;
  let heredoc: string | undefined;
  const newline = () => {
    line++;
    // A newline after && || | continues the command list; elsewhere it ends a command.
    const joined = /(&&|\|\||\|)\s*$/.test(out.replace(new RegExp(`${LINE}\\d+ $`), ''));
    out += joined ? ` ${LINE}${line} ` : `\n${LINE}${line} `;
    wordStart = true;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const rest = text.slice(i);
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      const stop = end < 0 ? text.length : end;
      const chunk = text.slice(i, stop + 1);
      out += chunk;
      line += chunk.split('\n').length - 1;
      i = stop;
      wordStart = false;
    } else if (c === '"') {
      let j = i + 1;
      let chunk = '"';
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && text[j + 1] === '\n') {
          j++;
          line++;
          continue;
        }
        if (text[j] === '\\' && j + 1 < text.length) chunk += text[j++];
        if (text[j] === '\n') line++;
        chunk += text[j];
      }
      out += `${chunk}"`;
      i = j;
      wordStart = false;
    } else if (c === '\\') {
      if (text[i + 1] === '\n') line++;
      else out += text.slice(i, i + 2);
      i++;
      wordStart = text[i] === '\n' ? wordStart : false;
    } else if (c === '#' && wordStart) {
      const end = text.indexOf('\n', i);
      i = (end < 0 ? text.length : end) - 1;
    } else if (c === '\n') {
      newline();
      if (heredoc !== undefined) {
        // Skip the here-document's lines, its delimiter line included.
        let j = i + 1;
        let skipped = 0;
        for (;;) {
          const end = text.indexOf('\n', j);
          const stop = end < 0 ? text.length : end;
          const body = text.slice(j, stop);
          skipped++;
          j = stop + 1;
          if (end < 0 || body.replace(/^\t+/, '') === heredoc) break;
        }
        heredoc = undefined;
        line += skipped;
        out += `\n${LINE}${line} `;
        i = j - 1;
      }
    } else if (c === '$' && text[i + 1] === '(') {
      const end = closing(text, i + 1);
      out += literal(text.slice(i, end + 1));
      i = end;
      wordStart = false;
    } else if (c === '`') {
      const end = text.indexOf('`', i + 1);
      const stop = end < 0 ? text.length - 1 : end;
      out += literal(text.slice(i, stop + 1));
      i = stop;
      wordStart = false;
    } else {
      const dup = /^(\d*)[<>]&(\d+|-)/.exec(rest);
      const both = /^&>>?/.exec(rest);
      const redirect = /^(\d*)(<<<|<<-?|>>|>\||<>|>&?|<)/.exec(rest);
      if (dup && (wordStart || dup[1] === '')) {
        // 2>&1, >&2: a descriptor duplicated, nothing written to a file.
        i += dup[0].length - 1;
        out += ' ';
        wordStart = true;
      } else if (both) {
        out += ` ${REDIRECT}1${both[0].slice(1)} `;
        i += both[0].length - 1;
        wordStart = true;
      } else if (redirect && (redirect[1] === '' || wordStart)) {
        const op = redirect[2] === '>&' ? '>' : redirect[2]!;
        const fd = redirect[1] || (op.startsWith('<') ? '0' : '1');
        i += redirect[0].length - 1;
        if (op === '<<' || op === '<<-') {
          const word = /^\s*(['"]?)([^\s'";&|<>]+)\1/.exec(text.slice(i + 1));
          if (word) {
            heredoc = word[2];
            i += word[0].length;
          }
          out += ' ';
        } else {
          // '|' would end the command for the shell reader: carried as '!'.
          out += ` ${REDIRECT}${fd}${op.replace('|', '!')} `;
        }
        wordStart = true;
      } else if (c === '(' || c === ')') {
        out += ` ${c} `;
        wordStart = true;
      } else {
        out += c;
        wordStart = c === ' ' || c === '\t' || c === ';' || c === '&' || c === '|';
      }
    }
  }
  return out;
}
