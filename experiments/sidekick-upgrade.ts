import type { FaultSpec } from '../harness/experiment/schedule.ts';

/**
 * The 2009 SAN upgrade as both Sidekick experiments stage it, so that they face exactly the same
 * failure: I/O stalls while controllers fail over, then bad firmware writes garbage into table
 * blocks, then the whole SAN (failure domain san-a) is lost.
 */
export const sanUpgrade: FaultSpec[] = [
  { at: '1500ms', fault: 'io-stall', target: 'primary', duration: '1s' },
  { at: '3500ms', fault: 'silent-corruption', target: 'primary', params: { kind: 'heap' } },
  { at: '5s', fault: 'domain-loss', target: 'domain:san-a' },
];

/** Recovery starts half a second after the SAN is gone. */
export const recoveryAt = '5500ms';
