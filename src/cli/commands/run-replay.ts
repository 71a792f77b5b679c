/** Shared by replay and maps: runs one replay with the progress bar and the skip report. */
import { statSync } from 'node:fs';
import { replay } from '../../replay/replay.js';
import type { ReplayOptions } from '../../replay/replay-options.js';
import type { ReplayResult } from '../../replay/replay-result.js';
import type { AddressSpace } from '../../vmm/address-space.js';
import { ProgressBar } from '../../report/index.js';
import type { CommandIo } from '../io.js';

/** Replays `trace` ('-' = standard input) with a progress bar on a terminal; reports the first skipped line on stderr. */
export async function runReplay(trace: string, options: ReplayOptions, io: CommandIo, command: string, onFinish?: (s: AddressSpace) => void): Promise<ReplayResult> {
  let total: number | undefined;
  try {
    total = trace === '-' ? undefined : statSync(trace).size;
  } catch {
    total = undefined; // replay reports the missing file
  }
  const bar = new ProgressBar({ stream: io.stderr, total, label: `${command} `, unit: 'B' });
  let firstSkip: Error | undefined;
  const result = await replay(trace === '-' ? process.stdin : trace, {
    ...options,
    onProgress: (bytes) => bar.update(bytes),
    onSkip: (e) => {
      firstSkip ??= e;
    },
    ...(onFinish ? { onFinish } : {}),
  });
  bar.finish();
  if (firstSkip) io.stderr.write(`vmsim ${command}: skipped ${result.trace.skipped} malformed line(s) or record(s); first: ${firstSkip.message}\n`);
  return result;
}
