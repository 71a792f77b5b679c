/**
 * The user address-space layout of Linux x86-64 with address-space randomization off
 * (so results are deterministic): arch/x86/include/asm/page_64_types.h, processor.h,
 * arch/x86/mm/mmap.c, mm/mmap.c.
 */

/** Size of a page. */
export const PAGE = 4096;
/** TASK_SIZE_MAX: user space ends one page below 2^47 (the non-canonical guard page). */
export const TASK_SIZE = 2 ** 47 - PAGE;
/** The stack's top without randomization (STACK_TOP = TASK_SIZE_LOW). */
export const STACK_TOP = TASK_SIZE;
/** RLIMIT_STACK's default soft limit: 8 MiB. */
export const STACK_LIMIT = 8 * 2 ** 20;
/** The initial stack mapping (setup_arg_pages expands it to 128 KiB). */
export const INITIAL_STACK_SIZE = 128 * 1024;
/** stack_guard_gap: 256 pages kept free below a growing stack. */
export const STACK_GUARD_GAP = 256 * PAGE;
/** vm.mmap_min_addr default: MAP_FIXED below it is EPERM. */
export const MMAP_MIN_ADDR = 65536;
/** TASK_UNMAPPED_BASE: where the bottom-up fallback search starts (PAGE_ALIGN(TASK_SIZE / 3)). */
export const TASK_UNMAPPED_BASE = Math.ceil(TASK_SIZE / 3 / PAGE) * PAGE;
/** Start of the heap (start_brk) for a PIE program loaded at 0x555555554000 with ASLR off. */
export const DEFAULT_HEAP_START = 0x555555559000;
