// The shipped experiments, one scenario each; `faultline list` shows them in this order.
import type { ExperimentDefinition } from '../harness/experiment/definition.ts';
import sidekickNaive from './sidekick-naive.ts';
import sidekickHardened from './sidekick-hardened.ts';
import { asyncFailover, syncFailover } from './failover.ts';
import pitrRestore from './pitr-restore.ts';
import pitrRestorePgBackRest from './pitr-restore-pgbackrest.ts';
import archiveGap from './archive-gap.ts';
import { incrementalExperiments } from './incremental-backup.ts';
import ioStall from './io-stall.ts';
import { diskFull, silentCorruption, staleSnapshot } from './storage-drills.ts';
import healthy from './healthy.ts';
import { redisExperiments } from './redis.ts';
import { powerLossExperiments } from './power-loss.ts';
import { archiveCommandExperiments } from './archive-command.ts';
import { barmanRestore, barmanWalArchiveRestore } from './barman.ts';
import { sentinelExperiments } from './sentinel.ts';
import { patroniExperiments } from './patroni.ts';

export const experiments: ExperimentDefinition[] = [
  sidekickNaive,
  sidekickHardened,
  asyncFailover,
  syncFailover,
  pitrRestore,
  pitrRestorePgBackRest,
  archiveGap,
  ...archiveCommandExperiments,
  barmanRestore,
  barmanWalArchiveRestore,
  ...incrementalExperiments,
  ioStall,
  diskFull,
  staleSnapshot,
  silentCorruption,
  healthy,
  ...powerLossExperiments,
  ...redisExperiments,
  ...sentinelExperiments,
  ...patroniExperiments,
];
