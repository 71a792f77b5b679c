/**
 * A swap area as the VMM uses it: the device with its slot allocator, the optional
 * compressed pool in front of it, and the page-in / page-out counters. Options are checked
 * here (unknown keys refused).
 */
import { VmmError } from '../errors.js';
import { describe, PAGE_SIZE } from '../address.js';
import { SwapDevice, type FrameCopy } from './swap-device.js';
import type { SwapSlots } from './swap-slots.js';
import { Zswap, type ZswapOptions, type ZswapStats } from './zswap.js';
import { SwapReadahead } from './swap-readahead.js';
import type { SwapOptions } from './swap-options.js';

export type { SwapOptions } from './swap-options.js';

const KEYS = new Set(['size', 'file', 'zswap', 'pageCluster']);
const ZSWAP_KEYS = new Set(['maxPoolPercent', 'acceptThresholdPercent']);

/** Where a swapped-in page came from. */
export type SwapSource = 'device' | 'zswap';

/** The device, its slots and the compressed pool. */
export class SwapArea {
  /** @internal */ readonly device: SwapDevice;
  /** @internal */ readonly zswap: Zswap | undefined;
  readonly pageCluster: number;
  /** @internal The adaptive readahead window (Linux's swapin_nr_pages). */
  readonly readahead: SwapReadahead;
  /** Pages read from / written to the device (Linux's pswpin / pswpout). */
  pswpin = 0;
  pswpout = 0;

  /**
   * Validates `options` (EINVAL naming the key) and opens the device; `memoryBytes` sizes the
   * pool; `parseSize` turns '64MiB' into bytes (the machine's, so sizes read alike everywhere).
   */
  constructor(options: unknown, memoryBytes: number, parseSize: (value: unknown, arg: string) => number) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new VmmError('EINVAL', `swap must be an object like { size: '64MiB' }, got ${describe(options)}`);
    for (const k of Object.keys(options)) if (!KEYS.has(k)) throw new VmmError('EINVAL', `swap: unknown option '${k}' (known: ${[...KEYS].join(', ')})`);
    const o = options as SwapOptions;
    if (o.size === undefined) throw new VmmError('EINVAL', "swap.size is required (e.g. '64MiB')");
    const size = parseSize(o.size, 'swap.size');
    if (size % PAGE_SIZE !== 0) throw new VmmError('EINVAL', `swap.size ${size} is not a multiple of 4096`);
    const pc = o.pageCluster ?? 3;
    if (!Number.isInteger(pc) || pc < 0 || pc > 10) throw new VmmError('EINVAL', `swap.pageCluster must be an integer from 0 to 10, got ${describe(pc)}`);
    let z: ZswapOptions | undefined;
    if (o.zswap === true) z = {};
    else if (o.zswap !== undefined && o.zswap !== false) {
      if (o.zswap === null || typeof o.zswap !== 'object') throw new VmmError('EINVAL', `swap.zswap must be a boolean or { maxPoolPercent }, got ${describe(o.zswap)}`);
      for (const k of Object.keys(o.zswap)) if (!ZSWAP_KEYS.has(k)) throw new VmmError('EINVAL', `swap.zswap: unknown option '${k}' (known: ${[...ZSWAP_KEYS].join(', ')})`);
      z = o.zswap;
    }
    const zswap = z ? new Zswap(memoryBytes, z, (slot, bytes) => this.deviceWrite(slot, bytes, 0)) : undefined;
    this.device = new SwapDevice({ size, file: o.file });
    this.zswap = zswap;
    this.pageCluster = pc;
    this.readahead = new SwapReadahead(pc, this.device.slots.pages);
  }

  /** @internal The slot allocator. */
  get slots(): SwapSlots {
    return this.device.slots;
  }

  /** Stores a page's bytes in `slot` (the pool first, else the device); returns where it went. */
  write(slot: number, bytes: Uint8Array, offset = 0): SwapSource {
    if (this.zswap?.store(slot, bytes, offset)) return 'zswap';
    this.deviceWrite(slot, bytes, offset);
    return 'device';
  }

  /** @internal True when pages go to the in-memory device as they are (no pool, no file): `writeFrames` applies. */
  get framesDirect(): boolean {
    return this.zswap === undefined && this.device.file === undefined;
  }

  /** @internal Stores frames[0..count) in slots[0..count) on the in-memory device in runs (see SwapDevice.writeFrames); counts them as pswpout. */
  writeFrames(slots: Float64Array, frames: Float64Array, count: number, copy: FrameCopy): void {
    this.device.writeFrames(slots, frames, count, copy);
    this.pswpout += count;
  }

  /**
   * Reads `slot`'s page into `into`. 'zswap' means it came from the pool, which freed its copy
   * (an exclusive load: the page is dirty now) unless another entry still holds the slot, in
   * which case the copy stays and 'device' semantics apply ('zswap-shared').
   */
  read(slot: number, into: Uint8Array, offset = 0): SwapSource | 'zswap-shared' {
    const exclusive = this.device.slots.refs(slot) <= 1;
    if (this.zswap?.load(slot, into, offset, exclusive)) return exclusive ? 'zswap' : 'zswap-shared';
    this.device.read(slot, into, offset);
    this.pswpin++;
    return 'device';
  }

  /**
   * @internal A device read without a copy, for a reader that copies the page onward anyway: when
   * `slot`'s page is on the in-memory device (not in the pool), counts the read and returns
   * the view holding its bytes at `device.pageOffset(slot)`, or null for a page of zeros.
   * undefined: use `read` (a file device, or the pool holds the page).
   */
  readView(slot: number): Uint8Array | null | undefined {
    if (this.device.file !== undefined || this.zswap?.has(slot)) return undefined;
    this.pswpin++;
    return this.device.pageView(slot) ?? null;
  }

  /** Drops one reference to `slot`; when it is free, its pool entry goes too. Returns true when freed. */
  put(slot: number): boolean {
    const freed = this.device.slots.put(slot);
    if (freed) this.zswap?.invalidate(slot);
    return freed;
  }

  /** The slots Linux would read with a fault that missed the swap cache at `slot` ([first, last], in-use ones only are read); adapts the window. */
  window(slot: number): [number, number] {
    return this.readahead.window(slot);
  }

  /** The pool's counters (undefined without zswap). */
  zswapStats(): ZswapStats | undefined {
    return this.zswap?.stats();
  }

  /** Closes the device. */
  close(): void {
    this.device.close();
  }

  private deviceWrite(slot: number, bytes: Uint8Array, offset: number): void {
    this.device.write(slot, bytes, offset);
    this.pswpout++;
  }
}
