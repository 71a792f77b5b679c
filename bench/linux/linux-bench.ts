/** Runs bench/linux/vmbench.c (compiled now with the system C compiler) for the real kernel's figures. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the kernel took on this machine. */
export interface LinuxBenchResult {
  /** One demand-zero 4 KiB fault (write to an untouched anonymous page). */
  first_touch_fault_ns: number;
  /** fork() of a process with 1 GiB of populated anonymous memory, until it returns in the parent. */
  fork_1g_populated_ms: number;
  /** One COW fault + copy (parent writes a page the child still shares). */
  cow_break_ns: number;
  /** mprotect of a middle page to read-only and back (split into three VMAs, merge into one). */
  mprotect_split_merge_ns: number;
  /** mmap + munmap of one untouched anonymous page. */
  mmap_munmap_ns: number;
  /** Faulting in 1 GiB page by page. */
  populate_1g_ms: number;
  /** munmap of 1 GiB of populated memory. */
  munmap_1g_ms: number;
  /** mremap (MAYMOVE|FIXED) of 1 GiB of populated memory, both ends 2 MiB-aligned: whole page tables move. */
  mremap_1g_ms: number;
  /** The same move with the target one page off: entry by entry. */
  mremap_1g_pte_ms: number;
  /** execve of a process with 1 GiB resident, until the new image's main (includes loading the program). */
  exec_1g_ms: number;
  /** execve of a process with nothing mapped beyond its image, the same way. */
  exec_small_ms: number;
  /** Reading /proc/self/smaps whole in a process with 10,000 regions of its own. */
  smaps_10k_ms: number;
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return dir;
}

/** Compiles and runs the C helper; `unavailable` says why when there is no compiler or it fails. */
export function runLinuxBench(): LinuxBenchResult | { unavailable: string } {
  try {
    const exe = join(mkdtempSync(join(tmpdir(), 'vmsim-vmbench-')), 'vmbench');
    execFileSync('cc', ['-O2', '-std=c11', '-o', exe, join(packageRoot(), 'bench', 'linux', 'vmbench.c')], { stdio: 'pipe' });
    const out = execFileSync(exe, { encoding: 'utf8', timeout: 120_000 });
    const parsed = JSON.parse(out) as LinuxBenchResult & { error?: string };
    if (parsed.error) return { unavailable: parsed.error };
    return parsed;
  } catch (e) {
    return { unavailable: (e as Error).message.split('\n')[0]! };
  }
}
