// The ledger's side of the one client loop: a "connection" is the node it appends to; an append
// is acknowledged once dd has fsynced it; a command that could not run is indeterminate.

import { describeError } from '../../../harness/errors.ts';
import type { WorkloadClient } from '../../../harness/workload/index.ts';
import type { LedgerNode } from './node.ts';

export const ledgerClient: WorkloadClient<{ node: string; handle: LedgerNode }, LedgerNode> = {
  open: async (target) => target.handle,
  async invoke(node, op) {
    if (op.value === null) {
      const rows = await node.rows();
      return { value: rows[String(op.key)] ?? null };
    }
    await node.append(op.key, op.value);
    return {};
  },
  close: () => {},
  classify: (error) => ({ outcome: 'info', error: describeError(error) }),
};
