/**
 * The machine's filesystem (machine.fs): one namespace of absolute paths over two
 * filesystems — a disk filesystem for regular files (bytes on the simulated disk, cached in
 * the page cache) and the tmpfs mounted at /dev/shm, whose files are the shared memory objects
 * (machine.createSharedMemory('x') is /dev/shm/x). There are no directories: a path names a
 * file, its components separated by '/' (repeated slashes count as one, '.' and '..' are
 * refused). A host file's bytes come in as `data` (a Buffer from fs.readFileSync is a Uint8Array).
 */
import { VmmError } from '../../errors.js';
import { describe } from '../../address.js';
import { strictOptions } from '../../strict-options.js';
import type { VmmContext } from '../vmm-context.js';
import { SharedMemoryObject } from '../shared-memory.js';
import { RegularFile } from './regular-file.js';
import { File } from './file.js';
import { maxFileSize, writeFile } from './file-io.js';
import type { Inode } from './inode.js';

/** PATH_MAX (bytes with the terminating NUL) and NAME_MAX. */
const PATH_MAX = 4096;
const NAME_MAX = 255;
const SHM_DIR = '/dev/shm/';

/** Options of fs.create. */
export interface CreateFileOptions {
  /** Size in bytes (default: data's length, or 0); the file is sparse: a hole reads zeros and costs nothing. */
  size?: number;
  /** The file's first bytes (copied once; a Buffer from a host file's fs.readFileSync works). */
  data?: Uint8Array;
}

/** Options of fs.open. */
export interface OpenFileOptions {
  /** O_RDONLY: the File refuses writes and truncation, and MAP_SHARED writable mappings of it are EACCES. */
  readOnly?: boolean;
}

/** The canonical form of a path (EINVAL / ENAMETOOLONG naming the argument). */
export function normalizePath(path: unknown): string {
  if (typeof path !== 'string') throw new VmmError('EINVAL', `path must be a string, got ${describe(path)}`);
  if (!path.startsWith('/')) throw new VmmError('EINVAL', `path ${JSON.stringify(path)} must be absolute (start with '/')`);
  if (path.includes('\0')) throw new VmmError('EINVAL', `path ${JSON.stringify(path)} contains a NUL byte`);
  if (utf8Length(path) >= PATH_MAX) throw new VmmError('ENAMETOOLONG', `path of ${path.length} characters is longer than PATH_MAX (${PATH_MAX - 1})`);
  const parts = path.split('/').filter((c) => c !== '');
  if (parts.length === 0) throw new VmmError('EINVAL', `path ${JSON.stringify(path)} names no file`);
  for (const c of parts) {
    if (c === '.' || c === '..') throw new VmmError('EINVAL', `path ${JSON.stringify(path)}: the filesystem has no directories to resolve '${c}' in`);
    if (utf8Length(c) > NAME_MAX) throw new VmmError('ENAMETOOLONG', `path component of ${c.length} characters is longer than NAME_MAX (${NAME_MAX})`);
  }
  return '/' + parts.join('/');
}

/** The machine's files. */
export class FileSystem {
  private readonly files = new Map<string, RegularFile>();

  /** @internal Use machine.fs. */
  constructor(
    private readonly ctx: VmmContext,
    private readonly live: () => void,
  ) {}

  /** The /dev/shm name of a path, or undefined when the path is on the disk. */
  private shmName(path: string): string | undefined {
    if (!path.startsWith(SHM_DIR)) return undefined;
    const name = path.slice(SHM_DIR.length);
    if (name.includes('/')) throw new VmmError('ENOENT', `${path}: /dev/shm has no subdirectories`);
    return name;
  }

  /** creat(2) with O_EXCL: a new file of `size` bytes (EEXIST when the path names one), opened read-write. */
  create(path: string, options: CreateFileOptions = {}): File {
    this.live();
    this.ctx.refuseReentry('fs.create');
    const p = normalizePath(path);
    strictOptions(options, 'options', ['size', 'data']);
    const data = options.data;
    if (data !== undefined && !(data instanceof Uint8Array)) throw new VmmError('EINVAL', `options.data must be a Uint8Array (a Buffer is one), got ${describe(data)}`);
    const size = options.size ?? data?.length ?? 0;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new VmmError('EINVAL', `options.size must be a non-negative whole number of bytes, got ${describe(size)}`);
    if (data !== undefined && data.length > size) throw new VmmError('EINVAL', `options.data has ${data.length} bytes, more than options.size ${size}`);
    const name = this.shmName(p);
    const max = maxFileSize(name !== undefined ? 'shmem' : 'file');
    if (size > max) throw new VmmError('EFBIG', `options.size ${size} is past the largest file size ${max}`);
    if (name !== undefined) {
      if (this.ctx.byName(name)) throw new VmmError('EEXIST', `${p} exists`);
      const obj = this.ctx.createObject(name, size);
      const file = new File(this.ctx, obj, p, false, this.live);
      if (data && data.length > 0) {
        try {
          writeFile(this.ctx, obj, 0, data);
        } catch (e) {
          // Nothing may stay behind a refused create: the object goes with its pages.
          file.close();
          obj.unlink();
          throw e;
        }
      }
      return file;
    }
    if (this.files.has(p)) throw new VmmError('EEXIST', `${p} exists`);
    const f = new RegularFile(this.ctx.newInodeId(), p, size, {
      release: (inode) => this.ctx.releaseFile(inode as RegularFile),
    });
    if (data) f.disk.load(data);
    this.ctx.addFile(f);
    this.files.set(p, f);
    return new File(this.ctx, f, p, false, this.live);
  }

  /** open(2) of an existing file (ENOENT otherwise), read-write unless `readOnly`. */
  open(path: string, options: OpenFileOptions = {}): File {
    this.live();
    this.ctx.refuseReentry('fs.open');
    const p = normalizePath(path);
    strictOptions(options, 'options', ['readOnly']);
    const ro = options.readOnly ?? false;
    if (typeof ro !== 'boolean') throw new VmmError('EINVAL', `options.readOnly must be a boolean, got ${describe(ro)}`);
    return new File(this.ctx, this.lookup(p, 'open'), p, ro, this.live);
  }

  /** unlink(2): the name goes; the file lives on while it is open or mapped (then its pages are freed). */
  unlink(path: string): void {
    this.live();
    this.ctx.refuseReentry('fs.unlink');
    const p = normalizePath(path);
    const inode = this.lookup(p, 'unlink');
    if (inode instanceof SharedMemoryObject) inode.unlink();
    else {
      this.files.delete(p);
      (inode as RegularFile).unlinkName();
    }
  }

  /** True when `path` names a file. */
  exists(path: string): boolean {
    this.live();
    const p = normalizePath(path);
    const name = this.shmName(p);
    return name !== undefined ? this.ctx.byName(name) !== undefined : this.files.has(p);
  }

  /** The paths of every file, sorted. */
  list(): string[] {
    this.live();
    const out = [...this.files.keys()];
    for (const o of this.ctx.allInodes()) if (o instanceof SharedMemoryObject && o.isLinked) out.push(SHM_DIR + o.name);
    return out.sort();
  }

  private lookup(p: string, op: string): Inode {
    const name = this.shmName(p);
    const inode = name !== undefined ? this.ctx.byName(name) : this.files.get(p);
    if (!inode) throw new VmmError('ENOENT', `${op}: ${p} does not exist`);
    return inode;
  }
}

const encoder = new TextEncoder();

/** Bytes of `s` in UTF-8 (what the kernel counts against PATH_MAX and NAME_MAX). */
function utf8Length(s: string): number {
  return encoder.encode(s).length;
}
