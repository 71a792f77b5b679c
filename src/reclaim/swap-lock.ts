/**
 * One machine per swap file, as swapon refuses a file already in use (EBUSY): a machine in this
 * process or in another. With the native addon it is flock(2) on the machine's descriptor of
 * the file — the kernel holds it for that open file, refuses any other open (in this process
 * or another) and drops it when the file is closed or the process dies, however it dies: no
 * stale state, no pid reuse, no race. Without the addon (a pure-JS install) it is a lock file
 * beside the swap file (`<file>.lock`, created O_EXCL, holding the owner's pid): a lock whose
 * owner is no longer alive is stale and taken over. That fallback has one window the kernel's
 * lock has not: two processes taking over the same stale lock at the same instant.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { VmmError } from '../errors.js';
import { nativeFlock } from '../core/native-core.js';

/** Lock files this process holds (removed at exit if a machine was never disposed). */
const held = new Set<string>();
let exitHook = false;

/** A held swap file. */
export interface SwapFileLock {
  /** Gives the file back (idempotent). */
  release(): void;
}

/** Takes `file` (open as `fd`) for one machine; EBUSY when a machine in any process has it. */
export function lockSwapFile(fd: number, file: string): SwapFileLock {
  const r = nativeFlock(fd, true);
  if (r === '') return { release: () => void nativeFlock(fd, false) }; // closing the descriptor releases it too
  if (r === 'EWOULDBLOCK') throw busy(file);
  if (r !== undefined) throw new VmmError('EIO', `swap.file ${file}: cannot lock it (flock: ${r})`);
  return lockFile(file);
}

function busy(file: string, lock?: string): VmmError {
  const by = lock ? ` (its lock file ${lock} names a live process)` : '';
  return new VmmError('EBUSY', `swap.file ${file} is in use by another machine, in this process or another${by}; one swap file serves one machine, as swapon refuses a file already in use`);
}

/** The fallback: `<file>.lock`, created exclusively, holding our pid; a dead owner's lock is taken over once. */
function lockFile(file: string): SwapFileLock {
  const path = `${file}.lock`;
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new VmmError('EIO', `swap.file ${file}: cannot create its lock file ${path}: ${(e as Error).message}`, { cause: e });
      if (attempt === 0 && !ownerAlive(path)) {
        rmSync(path, { force: true }); // stale: its owner died without giving it back
        continue;
      }
      throw busy(file, path);
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    held.add(path);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const p of held) rmSync(p, { force: true });
      });
    }
    return {
      release: () => {
        if (held.delete(path)) rmSync(path, { force: true });
      },
    };
  }
}

/** True while the process named in the lock file lives (EPERM: it lives, as another user). */
function ownerAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
  } catch {
    return true; // unreadable: do not take it over
  }
  // A lock file being written (empty for an instant) or damaged names no pid: treat as held.
  if (!Number.isSafeInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
