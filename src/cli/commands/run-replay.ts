/** Shared by replay and maps: runs one replay with the progress bar and the skip report. */
import { statSync } from 'node:fs';
import { replay } from '../../replay/replay.js';
import type { ReplayOptions } from '../../replay/replay-options.js';
import type { ReplayResult } from '../../replay/replay-result.js';
import type { AddressSpace } from '../../vmm/address-space.js';
import { ProgressBar } from '../../report/index.js';
import type { CommandIo } from '../io.js';

/** Replays `trace` (a path, '-' = standard input, or a stream) with a progress bar on a terminal; reports the first skipped line on stderr. */
export async function runReplay(trace: string | NodeJS.ReadableStream, options: ReplayOptions, io: CommandIo, command: string, onFinish?: (s: AddressSpace) => void): Promise<ReplayResult> {
  let total: number | undefined;
  try {
    // A FIFO or a stream has no size: the bar shows bytes done instead.
    total = typeof trace !== 'string' || trace === '-' ? undefined : statSync(trace).isFile() ? statSync(trace).size : undefined;
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
