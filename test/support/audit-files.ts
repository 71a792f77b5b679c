/**
 * The auditor's checks of files and the page cache (run by auditMachine after every step):
 * - every inode's cached pages are its own (index and inode agree), lie before the end of the
 *   file, and hold distinct frames (no frame in two caches);
 * - a regular file's dirty set is exactly its PG_dirty pages, the machine's dirty count and
 *   list of dirty files agree with them, its page count is the pages cached, and the file LRU
 *   lists hold every regular file page once, on the list its PG_active says;
 * - i_mmap is each space's file-backed regions, merged where contiguous, and its interval tree
 *   is well formed;
 * - every page-table entry of a file-backed region maps what the mapping allows: in a MAP_SHARED
 *   region the inode's cache page at that offset (writable only when the page is dirty, for a
 *   regular file: writes are tracked); in a MAP_PRIVATE region the cache page read-only, or a
 *   private copy.
 * It throws an Error naming the first broken invariant.
 */
import { AddressSpace, type Machine } from '../../src/index.js';
import { PageBit } from '../../src/core/constants.js';
import { PG } from '../../src/vmm/file/cache-page.js';
import { RegularFile } from '../../src/vmm/file/regular-file.js';
import type { FileMapping, Inode } from '../../src/vmm/file/inode.js';

const PAGE = 4096;

/** The file checks of `m`. */
export function auditFiles(m: Machine): void {
  const ctx = m.vmm;
  const seen = new Map<number, string>();
  let dirty = 0;
  let filePages = 0;
  const dirtyFiles = new Set<RegularFile>();
  for (const inode of ctx.allInodes()) {
    const name = inode instanceof RegularFile ? inode.path : `inode ${inode.id}`;
    for (const [i, p] of inode.pages) {
      if (p.index !== i || p.inode !== inode) throw new Error(`${name}: page cached at ${i} says it is page ${p.index} of inode ${p.inode.id}`);
      if (i >= inode.endIndex) throw new Error(`${name}: page ${i} cached past the end of the file (size ${inode.size})`);
      const other = seen.get(p.pfn);
      if (other) throw new Error(`frame ${p.pfn} is cached twice: ${other} and ${name} page ${i}`);
      seen.set(p.pfn, `${name} page ${i}`);
    }
    inode.checkMappings();
    if (!(inode instanceof RegularFile)) continue;
    filePages += inode.pages.size;
    for (const p of inode.pages.values()) {
      if (p.has(PG.DIRTY) !== inode.dirtyPages.has(p)) throw new Error(`${name}: page ${p.index}'s PG_dirty disagrees with the file's dirty set`);
      if (p.has(PG.DIRTY)) dirty++;
    }
    for (const p of inode.dirtyPages) if (inode.pages.get(p.index) !== p) throw new Error(`${name}: a dirty page ${p.index} is not in the cache`);
    if (inode.dirtyPages.size > 0) dirtyFiles.add(inode);
  }
  const cache = ctx.pageCache;
  if (cache.nrDirty !== dirty) throw new Error(`page cache: nrDirty ${cache.nrDirty}, but ${dirty} dirty pages`);
  if (cache.nrPages !== filePages) throw new Error(`page cache: nrPages ${cache.nrPages}, but ${filePages} cached file pages`);
  if (cache.dirtyFiles.size !== dirtyFiles.size || [...dirtyFiles].some((f) => !cache.dirtyFiles.has(f))) throw new Error('page cache: the list of dirty files is not the files with dirty pages');
  cache.lru.check();
  if (cache.lru.activeSize + cache.lru.inactiveSize !== filePages) throw new Error(`file LRU: ${cache.lru.activeSize + cache.lru.inactiveSize} pages on the lists, ${filePages} cached`);
  for (const s of m.addressSpaces()) if (s instanceof AddressSpace) auditSpace(m, s);
}

/** The file-backed regions of `s`: i_mmap agrees, and every entry maps what its mapping allows. */
function auditSpace(m: Machine, s: AddressSpace): void {
  const ctx = m.vmm;
  const vm = s.vm;
  const want = new Map<Inode, FileMapping[]>();
  for (const r of vm.regions) {
    if (r.backing.type !== 'object') continue;
    const inode = ctx.object(r.backing.objectId);
    if (!inode) throw new Error(`region at ${r.start.toString(16)} maps inode ${r.backing.objectId}, which is gone`);
    let list = want.get(inode);
    if (!list) want.set(inode, (list = []));
    const m0 = { vm, start: r.start, end: r.end, pgoff: r.backing.offset / PAGE, shared: r.shared };
    const last = list[list.length - 1];
    // Contiguous pieces (split by mprotect) are one mapping in i_mmap.
    if (last && last.end === m0.start && last.shared === m0.shared && last.pgoff + (last.end - last.start) / PAGE === m0.pgoff) list[list.length - 1] = { ...last, end: m0.end };
    else list.push(m0);
    checkEntries(s, inode, r.start, r.end, r.backing.offset / PAGE, r.shared);
  }
  // sharedPages counts every entry of the MAP_SHARED regions.
  let shared = 0;
  for (const r of vm.regions) {
    if (!r.shared) continue;
    const n = (r.end - r.start) / PAGE;
    const las = new Float64Array(n);
    for (let i = 0; i < n; i++) las[i] = r.start + i * PAGE;
    const bits = new Uint8Array(n);
    vm.pages.pageBits(las, n, bits, new Float64Array(n));
    for (let i = 0; i < n; i++) if ((bits[i]! & PageBit.PRESENT) !== 0) shared++;
  }
  if (shared !== vm.sharedPages) throw new Error(`space: sharedPages ${vm.sharedPages}, but ${shared} entries in MAP_SHARED regions`);
  for (const inode of ctx.allInodes()) {
    const got = [...inode.mappingsIn(vm)].sort((a, b) => a.start - b.start).map((x) => `${x.start}-${x.end}@${x.pgoff}${x.shared ? 's' : 'p'}`);
    const exp = (want.get(inode) ?? []).map((x) => `${x.start}-${x.end}@${x.pgoff}${x.shared ? 's' : 'p'}`);
    if (got.join() !== exp.join()) throw new Error(`inode ${inode.id}: i_mmap has [${got}] for a space whose regions map [${exp}]`);
  }
}

function checkEntries(s: AddressSpace, inode: Inode, start: number, end: number, pgoff: number, shared: boolean): void {
  const n = (end - start) / PAGE;
  const las = new Float64Array(n);
  for (let i = 0; i < n; i++) las[i] = start + i * PAGE;
  const bits = new Uint8Array(n);
  const frames = new Float64Array(n);
  s.vm.pages.pageBits(las, n, bits, frames);
  for (let i = 0; i < n; i++) {
    if ((bits[i]! & PageBit.PRESENT) === 0) continue;
    const p = inode.pages.get(pgoff + i);
    const leaf = s.vm.pages.leaf(las[i]!);
    const writable = leaf !== undefined && (leaf.lo & 2) !== 0;
    if (shared) {
      if (!p || p.pfn !== frames[i]) throw new Error(`MAP_SHARED entry at ${las[i]!.toString(16)} maps frame ${frames[i]}, not the file's page ${pgoff + i} (${p?.pfn ?? 'not cached'})`);
      if (inode instanceof RegularFile && writable && !p.has(PG.DIRTY)) throw new Error(`MAP_SHARED entry at ${las[i]!.toString(16)} is writable but page ${p.index} of ${inode.path} is clean (a write would go unseen)`);
    } else if (p && p.pfn === frames[i] && writable) {
      throw new Error(`MAP_PRIVATE entry at ${las[i]!.toString(16)} maps the file's own page ${p.index} writable`);
    }
  }
}
