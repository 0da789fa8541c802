import type { ManagerEvent, RoleEvent } from '../history/events.ts';
import { faultRecords, tookEffect } from './faults.ts';
import type { Checker } from './types.ts';

/**
 * What the cluster's own HA manager did about the faults: whether it failed over, how long after the
 * first disruptive fault that took effect (else the first fault that did) it found the primary down
 * (its `detected` report) and promoted a server (its first promotion after the fault), what it said
 * meanwhile, and whether it settled on one primary after the workload. A measure: the run's verdict on what failing over (or not) cost is
 * lost-writes', split-brain's and availability's. Skipped when no HA manager ran.
 */
export const managerActedChecker: Checker = ({ history }) => {
  const watching = history.find((e): e is ManagerEvent => e.type === 'manager' && e.what === 'watching');
  if (!watching) return { name: 'manager-acted', valid: 'skipped', summary: 'no HA manager in this run: faultline chose the primary itself', details: {} };
  const by = watching.by;
  const events = history.filter((e): e is ManagerEvent => e.type === 'manager');
  const settle = events.filter((e) => e.what === 'settled' || e.what === 'unsettled').at(-1);
  const settled = settle ? `; after the workload it ${settle.what === 'settled' ? 'settled' : 'did NOT settle'}: ${settle.detail}` : '';
  const promotions = history.filter((e): e is RoleEvent => e.type === 'role' && e.role === 'primary');
  // The fault the manager had to answer: the first disruptive one that took effect, else the first.
  const effective = faultRecords(history).filter(tookEffect).sort((a, b) => a.active! - b.active!);
  const fault = effective.find((f) => f.disruptive) ?? effective[0];
  const said = events.filter((e) => e.what === 'said' || e.what === 'detected').map((e) => e.detail.split(' ')[0]!);
  const details = { manager: by, settings: watching.detail, promotions: promotions.map((p) => ({ node: p.node, previous: p.previous, time: p.time })), said: [...new Set(said)], settled: settle?.what === 'settled' };
  if (!fault) {
    const summary = promotions.length === 0 ? `${by} had no fault to act on, and promoted no server${settled}` : `${by} promoted ${promotions.map((p) => `${p.node} at ${Math.round(p.time)} ms`).join(', ')} with no fault injected${settled}`;
    return { name: 'manager-acted', valid: promotions.length === 0 ? 'skipped' : true, summary, details };
  }
  const from = fault.active!;
  const detected = events.find((e) => e.what === 'detected' && e.time >= fault.start);
  const promoted = promotions.find((p) => p.time >= fault.start);
  const after = (time: number) => `${Math.round(time - from)} ms`;
  const first = `${fault.disruptive ? 'the first disruptive fault' : 'the first fault that took effect'} (${fault.name} on ${fault.target} at ${Math.round(from)} ms)`;
  const found = detected ? `found ${detected.node ?? 'the primary'} down ${after(detected.time)} after ${first}` : `never found the primary down after ${first}`;
  if (!promoted) {
    return { name: 'manager-acted', valid: 'skipped', summary: `${by} did not fail over: it ${found}, and promoted no server (a measure)${settled}`, details: { ...details, ...(detected ? { detectionMs: Math.round(detected.time - from) } : {}) } };
  }
  if (promoted.previous === promoted.node) {
    // The same server demoted and promoted again (Patroni when its leader lost the DCS): no failover.
    return {
      name: 'manager-acted',
      valid: 'skipped',
      summary: `${by} did not fail over to another server: it ${found}, demoted ${promoted.node} and promoted it again ${after(promoted.time)} after it (a measure)${settled}`,
      details: { ...details, ...(detected ? { detectionMs: Math.round(detected.time - from) } : {}), repromotionMs: Math.round(promoted.time - from) },
    };
  }
  // A promotion with no detection faultline recorded: the manager found the primary down, but its
  // report fell between faultline's reads (or it reports none); that is said, not denied.
  const promotedWhom = `promoted ${promoted.node}${promoted.previous ? ` in place of ${promoted.previous}` : ''} ${after(promoted.time)} after`;
  const failedOver = detected ? `${found} and ${promotedWhom} it` : `${promotedWhom} ${first} (faultline recorded no report of the primary found down before that)`;
  return {
    name: 'manager-acted',
    valid: true,
    summary: `${by} failed over: it ${failedOver}${settled}`,
    details: { ...details, ...(detected ? { detectionMs: Math.round(detected.time - from) } : {}), promotionMs: Math.round(promoted.time - from) },
  };
};
