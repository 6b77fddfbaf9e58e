// Snapshotting a history customer by customer, as buildDataset does, but letting a progress display redraw between
// customers: a large history takes minutes.
import type { FoldOptions } from '@churnscore/scoring';
import { customerRows, type CustomerHistory, type DatasetRow, type SnapshotPlan } from '@churnscore/training';

/** How often the work yields to the event loop, in customers. */
const YIELD_EVERY_CUSTOMERS = 25;

export const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Appends every history's rows under the plan to `into` (one customer per history: groupByCustomer's), telling
 * `onProgress` every few customers and at the end.
 */
export async function collectRows(
  histories: readonly CustomerHistory[],
  plan: SnapshotPlan,
  options: FoldOptions & { onProgress?: (progress: { customers: number; rows: number }) => void },
  into: DatasetRow[] = [],
): Promise<DatasetRow[]> {
  for (const [index, history] of histories.entries()) {
    into.push(...customerRows(history, plan, options));
    if ((index + 1) % YIELD_EVERY_CUSTOMERS === 0) {
      options.onProgress?.({ customers: index + 1, rows: into.length });
      await yieldToEventLoop();
    }
  }
  options.onProgress?.({ customers: histories.length, rows: into.length });
  return into;
}
