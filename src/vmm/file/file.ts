/**
 * An open file (Linux's struct file): a handle on an inode, read-only or read-write, with its
 * readahead state (file_ra_state, shared by the mappings made from it: a mapping's vm_file is
 * the file it was made from). Its operations are the system calls on a descriptor: pread,
 * pwrite, ftruncate, fsync, close. A closed File refuses everything with EBADF; the inode lives
 * on while it has a name, another open File or a mapping.
 */
import { VmmError } from '../../errors.js';
import { describe } from '../../address.js';
import type { VmmContext } from '../vmm-context.js';
import type { Inode } from './inode.js';
import { RaState } from './readahead.js';
import { fsyncFile, maxFileSize, readFile, truncateFile, writeFile } from './file-io.js';

/** A whole number of bytes from 0 to `max`, else EINVAL (EFBIG past `max`, the largest file size). */
function bytesArg(v: unknown, arg: string, op: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new VmmError('EINVAL', `${op}: ${arg} must be a non-negative whole number of bytes, got ${describe(v)}`);
  if (v > max) throw new VmmError('EFBIG', `${op}: ${arg} ${v} is past the largest file size ${max}`);
  return v;
}

/** An open file of the machine's filesystem. */
export class File {
  /** @internal Its readahead state (file_ra_state). */
  readonly ra: RaState;
  private open = true;

  /** @internal Use machine.fs.create() or machine.fs.open(). */
  constructor(
    private readonly ctx: VmmContext,
    /** @internal The inode it is open on. */
    readonly inode: Inode,
    /** The path it was opened by. */
    readonly path: string,
    /** Opened read-only (O_RDONLY): writes, truncation and shared writable mappings are refused. */
    readonly readOnly: boolean,
    private readonly live: () => void,
  ) {
    inode.openCount++;
    this.ra = new RaState(inode.kind === 'file' ? Math.floor(ctx.tunables.readAheadKb / 4) : 0);
  }

  /** The file's size in bytes (i_size). */
  get size(): number {
    this.check('size');
    return this.inode.size;
  }

  /** @internal True when the File is of the machine whose VMM context is `ctx`. */
  belongsTo(ctx: VmmContext): boolean {
    return this.ctx === ctx;
  }

  /** False once closed. */
  get isOpen(): boolean {
    return this.open;
  }

  /** @internal EBADF once closed; EINVAL once the machine is disposed; EBUSY from inside a reclaim plug-in's callback (but for size). */
  check(op: string): void {
    this.live();
    if (op !== 'size') this.ctx.refuseReentry(`${this.path}: ${op}`);
    if (!this.open) throw new VmmError('EBADF', `${op}: ${this.path} was closed`);
  }

  /** pread(2): up to `length` bytes from `offset` (fewer at the end of the file, none past it), through the page cache. */
  read(offset: number, length: number): Uint8Array {
    this.check('read');
    // A read past the end is empty, not an error: any offset and length an integer can hold.
    const pos = bytesArg(offset, 'offset', 'read', Number.MAX_SAFE_INTEGER);
    const n = bytesArg(length, 'length', 'read', Number.MAX_SAFE_INTEGER);
    return readFile(this.ctx, this.inode, this.ra, pos, n);
  }

  /** pwrite(2): writes `bytes` at `offset` (growing the file as needed), dirtying page cache pages; returns bytes written. */
  write(offset: number, bytes: Uint8Array): number {
    this.check('write');
    const pos = bytesArg(offset, 'offset', 'write', maxFileSize(this.inode.kind));
    if (!(bytes instanceof Uint8Array)) throw new VmmError('EINVAL', `write: bytes must be a Uint8Array (a Buffer is one), got ${describe(bytes)}`);
    if (this.readOnly) throw new VmmError('EBADF', `write: ${this.path} is open read-only`);
    return writeFile(this.ctx, this.inode, pos, bytes);
  }

  /** ftruncate(2): the file becomes `size` bytes long; mappings of pages past the end are unmapped (an access there is SIGBUS). */
  truncate(size: number): void {
    this.check('truncate');
    const n = bytesArg(size, 'size', 'truncate', maxFileSize(this.inode.kind));
    if (this.readOnly) throw new VmmError('EINVAL', `truncate: ${this.path} is open read-only (ftruncate needs a writable descriptor)`);
    truncateFile(this.ctx, this.inode, n);
  }

  /** fsync(2): writes the file's dirty pages back to the disk and waits for them (their write time passes). */
  fsync(): void {
    this.check('fsync');
    fsyncFile(this.ctx, this.inode);
  }

  /** close(2): the handle goes; the file lives on while it has a name, another open File or a mapping. */
  close(): void {
    this.check('close');
    this.open = false;
    this.inode.openCount--;
    this.inode.maybeRelease();
  }
}
