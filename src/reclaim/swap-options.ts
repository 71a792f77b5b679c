/** Options of the swap device (`new Machine({ swap })`), in a file of their own so the machine's options can name them without importing the swap code. */
import type { ZswapOptions } from './zswap.js';

/** `new Machine({ swap })`: the swap device. */
export interface SwapOptions {
  /** Bytes or a size string ('64MiB'), a multiple of 4 KiB; page 0 is the header. */
  size: number | string;
  /** Keep the slots in this file instead of host memory. */
  file?: string;
  /** Put a compressed pool in front of the device (off by default). */
  zswap?: boolean | ZswapOptions;
  /** log2 of the readahead window in slots (default 3 = 8 pages, /proc/sys/vm/page-cluster). */
  pageCluster?: number;
}
