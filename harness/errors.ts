// The few error classes faultline throws. Each carries a stable `code` and the process exit code the
// CLI uses for it (docs/architecture.md: 2 usage or configuration, 3 environment), plus the `cause` when wrapped.

export type ErrorCode =
  | 'E_USAGE'
  | 'E_CONFIG'
  | 'E_ENVIRONMENT'
  | 'E_CLUSTER'
  | 'E_DEADLINE'
  | 'E_INTERRUPTED';

const exitCodes: Record<ErrorCode, number> = {
  E_USAGE: 2,
  E_CONFIG: 2,
  E_ENVIRONMENT: 3,
  E_CLUSTER: 3,
  E_DEADLINE: 3,
  E_INTERRUPTED: 130,
};

export class FaultlineError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCodes[code];
  }
}

/** A command line that cannot be understood. Exit code 2. */
export class UsageError extends FaultlineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_USAGE', message, options);
  }
}

/** A topology, experiment or option that is invalid. Found before anything starts. Exit code 2. */
export class ConfigError extends FaultlineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CONFIG', message, options);
  }
}

/** The machine cannot run faultline: no Docker engine, an image that does not build. Exit code 3. */
export class EnvironmentError extends FaultlineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_ENVIRONMENT', message, options);
  }
}

/** A cluster that did not come up as its topology says (initdb, base backup, replication). Exit code 3. */
export class ClusterError extends FaultlineError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CLUSTER', message, options);
  }
}

/**
 * A phase (or one command) did not end within its bound. It says what was awaited and what was last
 * seen; whether the system under test stopped serving or faultline itself hung is for the evidence
 * gathered afterwards to tell, never this error.
 */
export class DeadlineError extends FaultlineError {
  readonly phase: string;
  readonly boundMs: number;
  readonly awaited: string;
  readonly lastSeen: string | undefined;

  constructor(phase: string, boundMs: number, awaited: string, lastSeen?: string, options?: { cause?: unknown }) {
    super('E_DEADLINE', `${phase} did not end within its bound of ${formatBound(boundMs)}: it was waiting for ${awaited}${lastSeen ? ` (last seen: ${lastSeen})` : ''}`, options);
    this.phase = phase;
    this.boundMs = boundMs;
    this.awaited = awaited;
    this.lastSeen = lastSeen;
  }
}

/** '90 s', '1.5 s', '300 ms'. */
export function formatBound(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** The run was interrupted (SIGINT/SIGTERM) and cleaned up. Exit code 130. */
export class InterruptedError extends FaultlineError {
  constructor(message = 'Interrupted', options?: { cause?: unknown }) {
    super('E_INTERRUPTED', message, options);
  }
}

/** Message of anything thrown, for logs that must never throw themselves. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
