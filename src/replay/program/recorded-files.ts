/**
 * The files a recorded program mapped, as files of the replay machine's filesystem: one file
 * per recorded file (told apart by device and inode, else by path), created at its first
 * mapping under its recorded path, so every mapping of it — from one process or several,
 * shared or private — goes through its one page cache, as on Linux: processes that map a
 * library share its frames, MAP_SHARED writes are seen by every mapper, MAP_PRIVATE ones are
 * copied on write, and the page cache's fault-around and readahead decide what a fault maps.
 *
 * A trace holds no file contents: every page of a file reads as zeros (the result says so). Its
 * size is what the recorder saw at the open (or the MAP event says), grown by a recorded
 * ftruncate, and grown to reach the end of each mapping made of it: the trace does not record
 * the write(2)s that may have grown it, so an access past the recorded end is not taken for the
 * SIGBUS it would be only if the file were really that short.
 */
import { VmmError } from '../../errors.js';
import type { Machine } from '../../system/machine.js';
import type { File } from '../../vmm/file/file.js';

/** What the trace says a file is. */
export interface RecordedFile {
  path: string;
  dev: number;
  inode: number;
  /** Bytes, when the recorder saw it. */
  size?: number;
}

/** The files of one replay and the machine's files that hold their pages. */
export class RecordedFiles {
  private readonly byKey = new Map<string, { file: RecordedFile; handle: File }>();
  private readonly byInode = new Map<number, RecordedFile>();

  constructor(private readonly machine: Machine) {}

  /** The machine's file for `file`, made at its first mapping, at least `reach` bytes long (the end of the mapping being made). */
  open(file: RecordedFile, reach = 0): File {
    const e = this.entry(file);
    if (e.handle.size < reach) e.handle.truncate(reach);
    return e.handle;
  }

  /** ftruncate of a recorded file: its size becomes `size`, as the program's did. */
  truncate(file: RecordedFile, size: number): void {
    this.entry(file).handle.truncate(size);
  }

  private entry(file: RecordedFile): { file: RecordedFile; handle: File } {
    const key = file.inode !== 0 ? `${file.dev}:${file.inode}` : `path:${file.path}`;
    let e = this.byKey.get(key);
    if (!e) {
      const size = file.size ?? 0;
      let handle: File;
      try {
        // Its own path where the filesystem takes it (a path used by another inode, or one it refuses, gets a name of the replay's).
        handle = this.machine.fs.create(file.path.startsWith('/') ? file.path : `/${file.path}`, { size });
      } catch (err) {
        if (!(err instanceof VmmError)) throw err;
        handle = this.machine.fs.create(`/vmsim-recorded-file-${this.byKey.size + 1}`, { size });
      }
      e = { file, handle };
      this.byKey.set(key, e);
      this.byInode.set(handle.inode.id, file);
    }
    return e;
  }

  /** The recorded file an inode holds, if it is one of these. */
  fileOf(inodeId: number): RecordedFile | undefined {
    return this.byInode.get(inodeId);
  }

  /** Files mapped. */
  get count(): number {
    return this.byKey.size;
  }
}
