// Reading a pgBackRest repository in an S3-compatible bucket from this machine, with the user's own
// endpoint and key, before anything starts: its backup.info, and a listing (names, sizes, times) to
// prove after the proof that nothing in it changed. Only GET requests, signed with AWS Signature V4.

import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { TreeListing } from '../../../history/prove-evidence.ts';
import { ConfigError, describeError } from '../../../errors.ts';
import { pgBackRestOption, type PgBackRestConf } from '../pgbackrest-conf.ts';

/** Where a pgBackRest repository is in S3, and how the user's configuration reaches it. */
export interface S3Repo {
  endpoint: string;
  port: number;
  bucket: string;
  region: string;
  key: string;
  secret: string;
  token?: string;
  pathStyle: boolean;
  verifyTls: boolean;
  ca?: string;
  /** repo1-path, without its leading '/': the prefix of every object of the repository. */
  prefix: string;
}

/** The S3 options of a pgbackrest.conf for a stanza (repo1-s3-*), checked; a ConfigError names what is missing. */
export function s3RepoOf(conf: PgBackRestConf, stanza: string): S3Repo {
  const option = (...keys: string[]) => keys.map((k) => pgBackRestOption(conf, k, stanza, 'restore')?.values.at(-1)).find((v) => v !== undefined);
  const need = (key: string) => {
    const value = option(key);
    if (!value) throw new ConfigError(`${conf.file}: an S3 repository needs ${key} (for stanza '${stanza}')`);
    return value;
  };
  const keyType = option('repo1-s3-key-type') ?? 'shared';
  if (keyType !== 'shared') throw new ConfigError(`${conf.file}: repo1-s3-key-type=${keyType} is not supported by prove-backup yet: give the repository's key in repo1-s3-key and repo1-s3-key-secret`);
  const endpoint = need('repo1-s3-endpoint');
  const [host, inlinePort] = endpoint.split(':');
  const ca = option('repo1-storage-ca-file', 'repo1-s3-ca-file');
  return {
    endpoint: host!,
    port: Number(option('repo1-storage-port', 'repo1-s3-port') ?? inlinePort ?? 443),
    bucket: need('repo1-s3-bucket'),
    region: need('repo1-s3-region'),
    key: need('repo1-s3-key'),
    secret: need('repo1-s3-key-secret'),
    ...(option('repo1-s3-token') ? { token: option('repo1-s3-token')! } : {}),
    pathStyle: option('repo1-s3-uri-style') === 'path',
    verifyTls: !['n', 'false', '0'].includes(option('repo1-storage-verify-tls', 'repo1-s3-verify-tls', 'repo1-s3-verify-ssl') ?? 'y'),
    ...(ca ? { ca } : {}),
    prefix: (option('repo1-path') ?? '/var/lib/pgbackrest').replace(/^\/+|\/+$/g, ''),
  };
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
/** S3's URI encoding: everything but unreserved characters (and '/' in a path). */
const encode = (text: string, slash = true) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(slash ? /%2F/g : /$^/, '/');

/** One signed GET of `key` (or of the bucket, with `query`), as pgBackRest would send it. */
export async function s3Get(repo: S3Repo, key: string, query: Record<string, string> = {}): Promise<{ status: number; body: Buffer }> {
  const now = new Date();
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const day = amzDate.slice(0, 8);
  const host = repo.pathStyle ? repo.endpoint : `${repo.bucket}.${repo.endpoint}`;
  const hostHeader = repo.port === 443 ? host : `${host}:${repo.port}`;
  const path = `${repo.pathStyle ? `/${repo.bucket}` : ''}/${key}`;
  const canonicalQuery = Object.keys(query).sort().map((k) => `${encode(k, false)}=${encode(query[k]!, false)}`).join('&');
  const payload = sha256('');
  const headers: Record<string, string> = { host: hostHeader, 'x-amz-content-sha256': payload, 'x-amz-date': amzDate, ...(repo.token ? { 'x-amz-security-token': repo.token } : {}) };
  const names = Object.keys(headers).sort();
  const canonical = ['GET', encode(path), canonicalQuery, ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), payload].join('\n');
  const scope = `${day}/${repo.region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${repo.secret}`, day), repo.region), 's3'), 'aws4_request');
  const signature = createHmac('sha256', signingKey).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${repo.key}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return new Promise((resolve, reject) => {
    const req = request(
      { host, port: repo.port, method: 'GET', path: `${encode(path)}${canonicalQuery ? `?${canonicalQuery}` : ''}`, headers, rejectUnauthorized: repo.verifyTls, ...(repo.ca ? { ca: readFileSync(repo.ca) } : {}), timeout: 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
    req.end();
  });
}

/** backup.info of a stanza, read from the bucket; a ConfigError says why it could not be. */
export async function s3BackupInfo(repo: S3Repo, stanza: string, where: string): Promise<string> {
  const key = `${repo.prefix ? `${repo.prefix}/` : ''}backup/${stanza}/backup.info`;
  let got: { status: number; body: Buffer };
  try {
    got = await s3Get(repo, key);
  } catch (error) {
    throw new ConfigError(`The S3 repository at ${repo.endpoint}:${repo.port} (${where}) cannot be reached from this machine: ${describeError(error)}`);
  }
  if (got.status === 404) throw new ConfigError(`Stanza '${stanza}' has no backup.info in bucket '${repo.bucket}' at /${key} (${where}): was 'pgbackrest stanza-create' run, and is repo1-path right?`);
  if (got.status !== 200) throw new ConfigError(`The S3 repository refused to give /${key} of bucket '${repo.bucket}' (HTTP ${got.status}): ${got.body.toString('utf8').slice(0, 300)}`);
  return got.body.toString('utf8');
}

/** Every object under the repository's prefix (ListObjectsV2, page by page), as a listing of the repository. */
export async function s3Listing(repo: S3Repo): Promise<TreeListing> {
  const entries: TreeListing['entries'] = [];
  const prefix = repo.prefix ? `${repo.prefix}/` : '';
  let token: string | undefined;
  do {
    const got = await s3Get(repo, '', { 'list-type': '2', prefix, ...(token ? { 'continuation-token': token } : {}) });
    if (got.status !== 200) throw new Error(`listing bucket '${repo.bucket}' failed (HTTP ${got.status}): ${got.body.toString('utf8').slice(0, 300)}`);
    const xml = got.body.toString('utf8');
    for (const [, item] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
      const tag = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(item!)?.[1] ?? '';
      entries.push({ path: tag('Key').slice(prefix.length), type: 'file', size: Number(tag('Size')), mtimeNs: String(BigInt(Date.parse(tag('LastModified'))) * 1_000_000n), mode: 0 });
    }
    token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? /<NextContinuationToken>([^<]*)</.exec(xml)?.[1] : undefined;
  } while (token);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { root: `s3://${repo.bucket}/${repo.prefix}`, entries, bytes: entries.reduce((s, e) => s + e.size, 0), files: entries.length, takenAt: new Date().toISOString() };
}
