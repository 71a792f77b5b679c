/**
 * The files a recorded program mapped, as memory the replay's processes share: one object per
 * file (told apart by device and inode, else by path), so every mapping of a file — from one
 * process or several, shared or private — sees the same pages, as through a page cache:
 * MAP_SHARED writes are seen by every mapper, MAP_PRIVATE ones are copied on write. A trace
 * holds no file contents: every page of a file reads as zeros (the result says so). The
 * objects are the machine's shared memory objects, sized generously (storage is sparse), so
 * an access past a file's end is not the SIGBUS it would be on Linux.
 *
 * This is a stand-in for the page cache (issue 19, built apart): anonymous shared memory in
 * the place of a file's cached pages. With the page cache a file's pages will be its own.
 */
import type { Machine } from '../../system/machine.js';
import type { SharedMemoryObject } from '../../vmm/shared-memory.js';

/** What the trace says a file is. */
export interface RecordedFile {
  path: string;
  dev: number;
  inode: number;
  /** Bytes, when the recorder saw it. */
  size?: number;
}

/** Smallest object made for a file: mappings may reach past what the recorder saw of its size. */
const MIN_OBJECT = 2 ** 30;

/** The files of one replay and the objects that hold their pages. */
export class RecordedFiles {
  private readonly byKey = new Map<string, { file: RecordedFile; object: SharedMemoryObject }>();
  private readonly byObject = new Map<number, RecordedFile>();

  constructor(private readonly machine: Machine) {}

  /** The object holding `file`'s pages (made at its first mapping). */
  object(file: RecordedFile): SharedMemoryObject {
    const key = file.inode !== 0 ? `${file.dev}:${file.inode}` : `path:${file.path}`;
    let e = this.byKey.get(key);
    if (!e) {
      const size = Math.max(MIN_OBJECT, Math.ceil((file.size ?? 0) / MIN_OBJECT) * MIN_OBJECT);
      const object = this.machine.createSharedMemory(`vmsim-file-${this.byKey.size + 1}`, size);
      e = { file, object };
      this.byKey.set(key, e);
      this.byObject.set(object.id, file);
    }
    return e.object;
  }

  /** The file an object holds, if it is one of these. */
  fileOf(objectId: number): RecordedFile | undefined {
    return this.byObject.get(objectId);
  }

  /** Files mapped. */
  get count(): number {
    return this.byKey.size;
  }
}
