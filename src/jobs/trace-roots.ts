/**
 * A worker reads only under the directories it was started with (--root): whoever can write to
 * the queue must not be able to make it read any other file. A path is resolved (symlinks and
 * '..' included) before it is opened, opened without following a final symlink, and checked
 * again through the descriptor itself, so swapping a link between the check and the open gains
 * nothing. Only regular files are opened for reading (a FIFO or a device could block or act).
 */
import { open, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { constants, existsSync } from 'node:fs';
import { isAbsolute, normalize, sep } from 'node:path';
import { QueueError } from '../queue/queue-error.js';

/** An opened trace: its handle (close it), and a path that reads exactly this open file. */
export interface RootedFile {
  handle: FileHandle;
  /** /proc/self/fd/N where the system has it (the very file opened), else its resolved path. */
  readPath: string;
}

/** The real paths of `dirs` (each must be an existing directory); QueueError ENOENT / ENOTDIR naming it. */
export async function resolveRoots(dirs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    const real = await realpath(d).catch(() => {
      throw new QueueError('ENOENT', `--root ${d} does not exist`);
    });
    if (!(await stat(real)).isDirectory()) throw new QueueError('ENOTDIR', `--root ${d} is not a directory`);
    if (!out.includes(real)) out.push(real);
  }
  return out;
}

/** True when the real path `real` is one of `roots` or lies below one. */
export function underRoots(real: string, roots: readonly string[]): boolean {
  return roots.some((r) => real === r || real.startsWith(r === sep ? r : r + sep));
}

/** Opens the regular file at `path` (absolute) for reading if it lies under `roots`; QueueError saying why not otherwise (naming it as `what`: a trace, a snapshot). */
export async function openUnderRoots(path: string, roots: readonly string[], what = 'trace'): Promise<RootedFile> {
  if (!isAbsolute(path)) throw new QueueError('EINVAL', `${what} path ${path} is not absolute`);
  const outside = () => new QueueError('EACCES', `${what} ${path} is outside this worker's --root directories (${roots.join(', ')}); start the worker with --root DIR for the directory that holds it`);
  const real = await realpath(path).catch((e: NodeJS.ErrnoException) => {
    // Outside the roots, say so whether or not it exists: the queue learns nothing of other files.
    throw underRoots(normalize(path), roots) ? fileError(e, path, what) : outside();
  });
  if (!underRoots(real, roots)) throw outside();
  const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW | constants.O_NOCTTY).catch((e: NodeJS.ErrnoException) => {
    throw e.code === 'ELOOP' ? new QueueError('EAGAIN', `${what} ${path} changed while it was opened (a symbolic link appeared); try again`) : fileError(e, path, what);
  });
  try {
    if (!(await handle.stat()).isFile()) throw new QueueError('EINVAL', `${what} ${path} is not a regular file`);
    const proc = `/proc/self/fd/${handle.fd}`;
    if (!existsSync(proc)) return { handle, readPath: real };
    if (!underRoots(await readlink(proc), roots)) throw outside();
    return { handle, readPath: proc };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

function fileError(e: NodeJS.ErrnoException, path: string, what: string): QueueError {
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return new QueueError('ENOENT', `${what} ${path} does not exist on this worker (is the shared file system mounted at the same path here?)`);
  if (e.code === 'EACCES' || e.code === 'EPERM') return new QueueError('EACCES', `${what} ${path} is not readable by this worker`);
  return new QueueError(e.code ?? 'EIO', `${what} ${path} cannot be opened (${e.code ?? 'error'})`);
}
