/**
 * Child processes a command started (valgrind, for record), so that SIGTERM ends them with the
 * command as Ctrl-C does (the terminal sends SIGINT to the whole foreground process group; a
 * SIGTERM from `kill` or `timeout` reaches only vmsim). The command installs the signal
 * handlers (a library must not); the library only records what runs.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

/** Records `child` until it exits. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/** Sends `signal` to every recorded child still running; returns how many. */
export function signalChildren(signal: NodeJS.Signals): number {
  let n = 0;
  for (const c of live) {
    if (c.exitCode === null && c.signalCode === null && c.kill(signal)) n++;
  }
  return n;
}
