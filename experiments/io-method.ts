// The I/O-error drills on PostgreSQL 18 under each of its I/O methods (io_method = sync, worker,
// io_uring): a variant of a drill, built from its own definition, pinned to 18 and run with one
// io_method. The drills are the shipped fsync-error ones and read-error, defined here, where the
// method carries the failing I/O (18's asynchronous I/O is for reads). Each variant starts with a
// step that records what the server really runs with: `SHOW io_method`, and the io_uring rings the
// postmaster holds open, so a report says from the server itself whether io_uring was in effect.
// Where the kernel or the container refuses io_uring, the server does not start and the run's error
// carries the server log line that says why. The variants are not in the shipped catalog.
// PostgreSQL's documentation of the setting:
// https://www.postgresql.org/docs/18/runtime-config-resource.html#GUC-IO-METHOD

import { defineExperiment, type ExperimentDefinition, type ScheduledStep } from '../harness/experiment/definition.ts';
import { asPostgres, LEDGER_TABLE, type PostgresTopologySpec } from '../harness/engines/postgres/index.ts';
import { pinVersions } from '../harness/engines/registry.ts';
import { describeError } from '../harness/errors.ts';
import { fsyncError, fsyncErrorRetry } from './power-loss.ts';

/** PostgreSQL 18's I/O methods; `worker` is its default. */
export const IO_METHODS = ['sync', 'worker', 'io_uring'] as const;
export type IoMethod = (typeof IO_METHODS)[number];

/** The first major that has io_method. */
export const IO_METHOD_POSTGRES = 18;

/** The name of the step that records the I/O method in effect, in its detail. */
export const IO_METHOD_STEP = 'io-method';

/** The suffix of a variant's name: fsync-error-io-sync, fsync-error-io-worker, fsync-error-io-uring. */
function suffix(method: IoMethod): string {
  return method === 'io_uring' ? 'io-uring' : `io-${method}`;
}

/**
 * A step that asks the primary which io_method it runs with and counts the io_uring instances its
 * postmaster holds ("SHOW io_method: io_uring; 142 io_uring rings open in the postmaster").
 * Reported, not raised: a server that does not answer says so in the detail.
 */
export function ioMethodEvidence(at: string = '0s'): ScheduledStep {
  return {
    at,
    name: IO_METHOD_STEP,
    target: 'primary',
    run: async ({ cluster }) => {
      const primary = asPostgres(cluster).primary();
      let shown: string;
      let dataDir: string;
      try {
        shown = (await primary.psql('SHOW io_method')).trim();
        dataDir = (await primary.psql('SHOW data_directory')).trim();
      } catch (error) {
        return `SHOW io_method failed: ${describeError(error).split('\n')[0]}`;
      }
      // Each io_uring instance is a file descriptor on the anonymous inode [io_uring]; the postmaster
      // sets them all up (one per process slot) and its children inherit them. Read as the server's
      // user: another user's descriptors are not readable in the container.
      const rings = await primary.exec(['sh', '-c', 'ls -l "/proc/$(head -1 "$1/postmaster.pid")/fd/" | grep -c "io_uring"', 'sh', dataDir], { user: 'postgres' });
      const count = Number(rings.stdout.trim());
      if (rings.stdout.trim() === '' || !Number.isInteger(count)) return `SHOW io_method: ${shown}; io_uring rings unknown (${rings.stderr.trim() || `exit ${rings.exitCode}`})`;
      return `SHOW io_method: ${shown}; ${count} io_uring rings open in the postmaster`;
    },
  };
}

/**
 * The drill pinned to PostgreSQL 18 with `io_method` set for every server, named
 * `<name>-io-<method>`, with the io-method step first in its schedule. Its expectations (`expect`,
 * `shows`) are the drill's own: the I/O method must not change what the drill documents.
 */
export function withIoMethod(definition: ExperimentDefinition, method: IoMethod): ExperimentDefinition {
  const topology = definition.topology;
  if (topology.postgres === undefined) throw new Error(`'${definition.name}' is not a PostgreSQL drill: io_method is PostgreSQL's setting`);
  const pinned = pinVersions(topology, { postgres: IO_METHOD_POSTGRES }) as PostgresTopologySpec;
  const all = [pinned.postgres.settings ?? {}, ...pinned.postgres.nodes.map((n) => n.settings ?? {})];
  if (all.some((s) => Object.keys(s).some((k) => k.toLowerCase() === 'io_method'))) throw new Error(`'${definition.name}' already sets io_method: its variants would not run the method they are named after`);
  return {
    ...definition,
    name: `${definition.name}-${suffix(method)}`,
    description: `${definition.description} (PostgreSQL ${IO_METHOD_POSTGRES}, io_method = ${method})`,
    topology: { ...pinned, postgres: { ...pinned.postgres, settings: { ...pinned.postgres.settings, io_method: method } } },
    schedule: [ioMethodEvidence(), ...(definition.schedule ?? [])],
  };
}

/**
 * A step that opens a new connection to the primary and reads the whole ledger table: a new session
 * reads catalog pages and a scan reads table pages, so reads that miss the buffer pool are certain
 * to be issued while it runs. Its failure is the point when the reads fail: reported, not raised.
 */
export function scanAt(at: string): ScheduledStep {
  return {
    at,
    name: 'scan',
    target: 'primary',
    run: async ({ cluster }) => {
      try {
        const rows = (await asPostgres(cluster).primary().psql(`SET max_parallel_workers_per_gather = 0; SELECT count(*) FROM ${LEDGER_TABLE}`)).trim();
        return `scan done: ${rows} rows`;
      } catch (error) {
        const lines = describeError(error).split('\n');
        return `scan failed: ${(lines.find((l) => /ERROR|FATAL|PANIC|server closed/.test(l)) ?? lines[0] ?? '').replace(/^.*?((ERROR|FATAL|PANIC):)/, '$1')}`;
      }
    },
  };
}

/**
 * Table files fail every read (EIO) for a second. PostgreSQL 18's asynchronous I/O is for reads (its
 * writes and fsyncs stay synchronous under every io_method), so this is the drill where the method
 * carries the I/O and its error. Reads reach the storage only when they miss both the buffer pool
 * (kept tiny) and the kernel's page cache: debug_io_direct = data opens the table files with
 * O_DIRECT, and a new session's scan during the fault is certain to read. A failed read is an ERROR
 * (or a FATAL at connection start) for that session only: nothing acknowledged is lost and the
 * server keeps running. Not in the shipped catalog: only its io_method variants run, from the test.
 */
export const readError: ExperimentDefinition = defineExperiment({
  name: 'read-error',
  description: 'Reads of PostgreSQL table files fail with EIO for a second (direct I/O): the reading sessions get an error, nothing acknowledged is lost',
  topology: {
    domains: ['san-a'],
    postgres: { nodes: [{ name: 'pg-primary', role: 'primary', domain: 'san-a' }], settings: { shared_buffers: '256kB', debug_io_direct: 'data' } },
  },
  workload: { clients: 4, duration: '6s', readRatio: 0.5 },
  schedule: [scanAt('2500ms')],
  faults: [{ at: '2s', fault: 'io-error', target: 'primary', duration: '1s', params: { op: 'read', path: '^pgdata/base/' } }],
  expect: { maxLostWrites: 0 },
});

/** The drills that inject I/O errors (io-error faults) into PostgreSQL: the shipped fsync ones, and the read one. */
export const ioErrorDrills: ExperimentDefinition[] = [fsyncError, fsyncErrorRetry, readError];

/** Every I/O-error drill under every I/O method, drill by drill. */
export const ioMethodExperiments: ExperimentDefinition[] = ioErrorDrills.flatMap((d) => IO_METHODS.map((m) => withIoMethod(d, m)));
