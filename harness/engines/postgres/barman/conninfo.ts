// libpq connection strings as Barman's conninfo and streaming_conninfo hold them (`host=db1 user=barman`,
// or a postgresql:// URI), read into parameters and written back, so that the ones naming the user's
// site can be replaced by the cluster's. Pure.

/** The parameters of a conninfo, in order; throws on text libpq would refuse. */
export function parseConninfo(text: string): Array<[string, string]> {
  const trimmed = text.trim();
  if (/^postgres(ql)?:\/\//.test(trimmed)) return parseUri(trimmed);
  const params: Array<[string, string]> = [];
  let i = 0;
  while (i < trimmed.length) {
    while (/\s/.test(trimmed[i] ?? '')) i++;
    if (i >= trimmed.length) break;
    const key = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*/.exec(trimmed.slice(i));
    if (!key) throw new Error(`'${trimmed}' is not a libpq connection string: expected key=value at '${trimmed.slice(i)}'`);
    i += key[0].length;
    let value = '';
    if (trimmed[i] === "'") {
      i++;
      while (i < trimmed.length && trimmed[i] !== "'") {
        if (trimmed[i] === '\\') i++;
        value += trimmed[i] ?? '';
        i++;
      }
      if (trimmed[i] !== "'") throw new Error(`'${trimmed}' is not a libpq connection string: unterminated quote in ${key[1]}`);
      i++;
    } else {
      while (i < trimmed.length && !/\s/.test(trimmed[i]!)) {
        if (trimmed[i] === '\\') i++;
        value += trimmed[i] ?? '';
        i++;
      }
    }
    params.push([key[1]!.toLowerCase(), value]);
  }
  return params;
}

function parseUri(text: string): Array<[string, string]> {
  const url = new URL(text.replace(/^postgres(ql)?:/, 'http:'));
  const params: Array<[string, string]> = [];
  if (url.hostname) params.push(['host', decodeURIComponent(url.hostname)]);
  if (url.port) params.push(['port', url.port]);
  if (url.username) params.push(['user', decodeURIComponent(url.username)]);
  if (url.password) params.push(['password', decodeURIComponent(url.password)]);
  const db = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (db) params.push(['dbname', db]);
  for (const [key, value] of url.searchParams) params.push([key.toLowerCase(), value]);
  return params;
}

/** Parameters as a key=value conninfo, quoting values that need it. */
export function renderConninfo(params: ReadonlyArray<readonly [string, string]>): string {
  return params.map(([key, value]) => `${key}=${value === '' || /[\s'\\]/.test(value) ? `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : value}`).join(' ');
}
