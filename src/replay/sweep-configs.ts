/** A sweep's configurations, checked before any replay runs. */
import { VmmError } from '../errors.js';
import { resolveReplayOptions } from './replay-options.js';

/** Replay options that cannot cross to a worker thread (or a queue's worker). */
const LOCAL_ONLY = ['setup', 'onFinish', 'onSkip', 'onProgress', 'signal'] as const;

/** Throws VmmError EINVAL unless `configs` is a non-empty array of valid replay options (naming the first bad one). */
export function checkSweepConfigs(configs: unknown): void {
  if (!Array.isArray(configs) || configs.length === 0) throw new VmmError('EINVAL', 'sweep: configs must be a non-empty array');
  configs.forEach((c, i) => {
    try {
      resolveReplayOptions(c);
    } catch (e) {
      throw new VmmError('EINVAL', `sweep: configs[${i}]: ${(e as Error).message}`);
    }
    const c2 = c as Record<string, unknown>;
    if (c2['from'] !== undefined && typeof c2['from'] !== 'string') throw new VmmError('EINVAL', `sweep: configs[${i}].from must be a snapshot file's path (a Snapshot object cannot cross to a worker thread)`);
    if (c2['save'] !== undefined) throw new VmmError('EINVAL', `sweep: configs[${i}].save: rows do not save their machines (replay one configuration with save)`);
    for (const k of LOCAL_ONLY) if ((c as Record<string, unknown>)[k] !== undefined) throw new VmmError('EINVAL', `sweep: configs[${i}].${k} cannot cross to a worker thread (give sweep's own onProgress or signal)`);
  });
}
