import { describe, expect, it } from 'vitest';
import { Timetable } from '../../harness/experiment/timetable.ts';
import { namesRole } from '../../harness/faults/targets.ts';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the timetable of a run with a fresh backup', () => {
  it('holds back what is scheduled after the backup until the backup has ended, and moves it by the overrun', async () => {
    const shifts: number[] = [];
    const table = new Timetable({ start: performance.now(), backupAtMs: 0, moments: [10, 30], onShift: (ms) => shifts.push(ms) });
    let reached = false;
    const fault = table.until(10).then(() => (reached = true));
    await tick(60); // well past the fault's planned moment: it still waits for the backup
    expect(reached).toBe(false);
    table.backupEnded();
    await fault;
    expect(reached).toBe(true);
    expect(table.shiftMs).toBeGreaterThanOrEqual(50);
    expect(shifts).toEqual([table.shiftMs]);
    // Everything after the backup keeps its spacing; the backup's own moment does not move.
    expect(table.time(30) - table.time(10)).toBeCloseTo(20, 6); // floating-point milliseconds
    expect(table.time(0)).toBe(table.start);
  });

  it('moves nothing when the backup ends before the change was due', async () => {
    const shifts: number[] = [];
    const table = new Timetable({ start: performance.now(), backupAtMs: 0, moments: [5_000], onShift: (ms) => shifts.push(ms) });
    table.backupEnded();
    expect(table.shiftMs).toBe(0);
    expect(shifts).toEqual([]);
    expect(table.time(5_000)).toBe(table.start + 5_000);
  });

  it('goes ahead without the backup after the longest wait, and says so', async () => {
    const told: Array<[number, boolean]> = [];
    const table = new Timetable({ start: performance.now(), backupAtMs: 0, moments: [1], maxWaitMs: 30, onShift: (ms, gaveUp) => told.push([ms, gaveUp]) });
    await table.until(1);
    expect(told).toHaveLength(1);
    expect(told[0]![1]).toBe(true);
    table.backupEnded(); // the backup ends later: nothing changes any more
    expect(told).toHaveLength(1);
  });

  it('never waits for a backup an experiment does not take', async () => {
    const table = new Timetable({ start: performance.now(), moments: [1] });
    await table.until(1);
    expect(table.shiftMs).toBe(0);
    expect(table.time(1)).toBe(table.start + 1);
  });
});

describe('faults in order', () => {
  it('a fault waits while one planned earlier still acts on the same node; others and equals do not wait; recovery waits for all before it', async () => {
    const table = new Timetable({ start: performance.now(), moments: [0, 10, 20] });
    const corruption = table.fault(0);
    const domainLoss = table.fault(10);
    const elsewhere = table.fault(10);
    const sameTime = table.fault(0);
    expect(await corruption.begin(['pg-primary'])).toBe(0);
    expect(await sameTime.begin(['pg-primary'])).toBe(0); // planned at the same moment: no order between them
    sameTime.end();
    let lossBegan = false;
    const loss = domainLoss.begin(['pg-primary', 'pg-archive']).then((waited) => ((lossBegan = true), waited));
    expect(await elsewhere.begin(['pg-replica'])).toBe(0); // another node: no wait
    elsewhere.end();
    let recovered = false;
    const recovery = table.faultsActed(20).then(() => (recovered = true));
    await tick(40);
    expect(lossBegan).toBe(false); // the corruption is still acting on pg-primary
    corruption.end();
    expect(await loss).toBeGreaterThanOrEqual(30);
    expect(recovered).toBe(false); // the domain loss has not acted yet
    domainLoss.end();
    await recovery;
    expect(recovered).toBe(true);
    expect(await table.faultsActed(5)).toBe(0);
  });

  it('a fault that names a role waits for the recovery planned before it to end; one planned before the recovery does not', async () => {
    const table = new Timetable({ start: performance.now(), moments: [0, 10, 20] });
    table.planRecovery(10);
    expect(await table.rolesSettled(5)).toBe(0); // planned before the failover: 'primary' is the old one
    expect(await table.rolesSettled(10)).toBe(0); // at the same moment: no order
    let settled = false;
    const after = table.rolesSettled(20).then((waited) => ((settled = true), waited));
    await tick(30);
    expect(settled).toBe(false); // the failover is still running
    table.recoveryEnded();
    expect(await after).toBeGreaterThanOrEqual(20);
    expect(await new Timetable({ start: performance.now(), moments: [1] }).rolesSettled(1)).toBe(0); // no recovery planned
  });

  it("a fault waits while an earlier fault's heal is running on the same node, not for a heal still to come", async () => {
    const table = new Timetable({ start: performance.now(), moments: [0, 10, 20] });
    const rollback = table.fault(0);
    const powerLoss = table.fault(10);
    const later = table.fault(20);
    expect(await rollback.begin(['pg-primary'])).toBe(0);
    rollback.end();
    const healed = rollback.healing(); // the volume is being rolled back, its server restarting
    let began = false;
    const cut = powerLoss.begin(['pg-primary']).then((waited) => ((began = true), waited));
    await tick(30);
    expect(began).toBe(false);
    healed();
    expect(await cut).toBeGreaterThanOrEqual(20);
    powerLoss.end();
    expect(await later.begin(['pg-primary'])).toBe(0); // the power loss's heal has not begun: planned overlap
  });

  it('knows which targets name a role', () => {
    expect(['primary', 'replica', 'primary~pg-archive', 'pg-archive~replica'].map(namesRole)).toEqual([true, true, true, true]);
    expect(['archive', 'pg-primary', 'domain:san-a', 'pg-primary~pg-replica'].map(namesRole)).toEqual([false, false, false, false]);
  });
});
