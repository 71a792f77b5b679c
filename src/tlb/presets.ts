/**
 * CPU presets: the TLB hierarchies of real CPUs and the default configurations of two
 * simulators, with where each number comes from. docs/tlb-hierarchy.md prints this table;
 * test/tlb/presets.test.ts checks the two agree. Latencies are cycles.
 */
import type { PolicyName, SlotName } from './layout.js';

/** One array of a preset. */
export interface PresetArray {
  entries: number;
  ways: number;
  sizes: Array<'4k' | '2m' | '1g'>;
  policy?: PolicyName;
  /** Cycles of a lookup of this array. */
  latency: number;
}

/** A CPU's hierarchy: arrays by slot name, the cost of a walk's memory reference per level, and provenance. */
export interface CpuPreset {
  name: string;
  description: string;
  arrays: Partial<Record<SlotName, PresetArray>>;
  /** Cycles per memory reference of a walk, by level read: PML4E, PDPTE, PDE, PTE. */
  walkReference: [number, number, number, number];
  sources: string[];
  /** What is not in the sources (assumed, or a simplification of the model). */
  assumed: string[];
}

const a = (entries: number, ways: number, sizes: PresetArray['sizes'], latency: number): PresetArray => ({ entries, ways, sizes, latency });

/** The presets by name. */
export const CPU_PRESETS: Readonly<Record<string, CpuPreset>> = {
  skylake: {
    name: 'skylake',
    description: 'Intel Skylake (client and server cores)',
    arrays: {
      l1i: a(128, 8, ['4k'], 1),
      'l1i-2m': a(8, 8, ['2m'], 1),
      l1d: a(64, 4, ['4k'], 1),
      'l1d-2m': a(32, 4, ['2m'], 1),
      'l1d-1g': a(4, 4, ['1g'], 1),
      stlb: a(1536, 12, ['4k', '2m'], 9),
      'stlb-1g': a(16, 4, ['1g'], 9),
      'pwc-pml4e': a(2, 2, [], 1),
      'pwc-pdpte': a(4, 4, [], 1),
      'pwc-pde': a(32, 4, [], 1),
    },
    walkReference: [20, 20, 20, 20],
    sources: [
      'Intel 64 and IA-32 Architectures Optimization Reference Manual (248966-045), Table 2-15 (Skylake client TLBs), as quoted at community.intel.com/t5/Software-Tuning-Performance/TLB-information-provided-by-cpuid-doesn-t-make-sense-to-me/m-p/1371605: ITLB 4K 128 entries 8-way, 2M 8 entries per thread; DTLB 4K 64 4-way, 2M 32 4-way, 1G 4 4-way; STLB 4K+2M 1536 12-way, 1G 16 4-way',
      'WikiChip, Skylake (client): STLB 4K+2M changed from 6-way to 12-way',
    ],
    assumed: [
      'ITLB 2M: fully associative (the manual gives no associativity)',
      'paging-structure caches: sizes are not published; 2 PML4E, 4 PDPTE, 32 PDE entries (assumed, no source)',
      'latencies: L1 1, STLB 9 cycles; 20 cycles per walk memory reference (an L2 hit)',
      'replacement: exact LRU everywhere (the real policies are not published)',
    ],
  },
  'golden-cove': {
    name: 'golden-cove',
    description: 'Intel Golden Cove (Alder Lake P-core, Sapphire Rapids)',
    arrays: {
      l1i: a(256, 8, ['4k'], 1),
      'l1i-2m': a(32, 32, ['2m'], 1),
      l1d: a(96, 6, ['4k'], 1),
      'l1d-2m': a(32, 4, ['2m'], 1),
      'l1d-1g': a(8, 8, ['1g'], 1),
      stlb: a(2048, 16, ['4k', '2m'], 8),
      'stlb-1g': a(1024, 8, ['1g'], 8),
      'pwc-pml4e': a(2, 2, [], 1),
      'pwc-pdpte': a(4, 4, [], 1),
      'pwc-pde': a(32, 4, [], 1),
    },
    walkReference: [16, 16, 16, 16],
    sources: ['cpunews.net, Alder Lake architecture analysis (page 5): Golden Cove L1 DTLB grew from 64 to 96 entries'],
    assumed: [
      'all other sizes and associativities are the Golden Cove TLB table of the Intel optimization manual as remembered, not checked against the document in this work: ITLB 4K 256 8-way, 2M 32; DTLB 4K 96 6-way, 2M 32 4-way, 1G 8; STLB 4K+2M 2048 16-way, 1G 1024 8-way',
      'paging-structure caches, latencies and LRU replacement as for skylake',
    ],
  },
  zen3: {
    name: 'zen3',
    description: 'AMD Zen 3',
    arrays: {
      l1i: a(64, 64, ['4k', '2m', '1g'], 1),
      l1d: a(64, 64, ['4k', '2m', '1g'], 1),
      stlb: a(2048, 16, ['4k', '2m'], 7),
      l2i: a(512, 8, ['4k', '2m'], 7),
      'pwc-pml4e': a(2, 2, [], 1),
      'pwc-pdpte': a(4, 4, [], 1),
      'pwc-pde': a(32, 4, [], 1),
    },
    walkReference: [20, 20, 20, 20],
    sources: [
      '7-cpu.com/cpu/Zen2.html: L1 ITLB 64 entries fully associative, all page sizes; L2 ITLB 512 entries 8-way, 4K/2M pages, 1G pages use 2M entries (Zen 2; assumed unchanged in Zen 3)',
      'WikiChip, Zen 2: L1 DTLB 64 entries fully associative, 4K/2M/1G; L2 DTLB 2048 entries (12-way in Zen 2), 1G pages smashed into 2M entries',
    ],
    assumed: [
      'L2 DTLB 16-way in Zen 3 (AMD Software Optimization Guide for family 19h, not checked here)',
      'the L2 ITLB serves fetches only and the L2 DTLB data only (AMD\'s split second level); L2 ITLB latency assumed equal to the L2 DTLB\'s',
      '1G pages in the second levels are not held (AMD smashes them into 2M entries, which the model does not do)',
      'paging-structure caches (AMD caches PDEs in the L2 TLB), latencies and LRU replacement assumed',
    ],
  },
  zen4: {
    name: 'zen4',
    description: 'AMD Zen 4',
    arrays: {
      l1i: a(64, 64, ['4k', '2m', '1g'], 1),
      l1d: a(72, 72, ['4k', '2m', '1g'], 1),
      stlb: a(3072, 24, ['4k', '2m'], 7),
      l2i: a(512, 8, ['4k', '2m'], 7),
      'pwc-pml4e': a(2, 2, [], 1),
      'pwc-pdpte': a(4, 4, [], 1),
      'pwc-pde': a(32, 4, [], 1),
    },
    walkReference: [20, 20, 20, 20],
    sources: [],
    assumed: [
      'L1 DTLB 72 entries fully associative and L2 DTLB 3072 entries (AMD Software Optimization Guide for family 19h, Zen 4), associativity 24 — from memory, not checked here',
      'L1 ITLB and L2 ITLB (512 entries 8-way, fetches only) as zen3',
      'paging-structure caches, latencies and LRU replacement assumed',
    ],
  },
  champsim: {
    name: 'champsim',
    description: "ChampSim's default champsim_config.json",
    arrays: {
      l1i: a(64, 4, ['4k', '2m', '1g'], 1),
      l1d: a(64, 4, ['4k', '2m', '1g'], 1),
      stlb: a(1536, 12, ['4k', '2m', '1g'], 8),
      'pwc-pml4e': a(4, 4, [], 1),
      'pwc-pdpte': a(8, 4, [], 1),
      'pwc-pde': a(32, 8, [], 1),
    },
    walkReference: [5, 5, 5, 5],
    sources: [
      'github.com/ChampSim/ChampSim champsim_config.json: ITLB and DTLB 16 sets x 4 ways, latency 1; STLB 128 sets x 12 ways, latency 8; page_size 4096',
      'ChampSim PTW defaults (pscl4 1 set x 4 ways, pscl3 2 x 4, pscl2 4 x 8) as in the PTW section of later champsim_config.json versions',
    ],
    assumed: [
      'ChampSim translates one page size; the arrays here hold every size so 2M replays still work',
      "ChampSim's PTW reads go through its L1D cache (latency 5); here a fixed 5 cycles per reference",
      'pscl5 is dropped (4-level paging); replacement exact LRU (ChampSim default lru)',
    ],
  },
  virtuoso: {
    name: 'virtuoso',
    description: "Virtuoso's default translation configuration",
    arrays: {
      l1i: a(128, 8, ['4k', '2m', '1g'], 1),
      l1d: a(64, 4, ['4k', '2m', '1g'], 1),
      stlb: a(1536, 12, ['4k', '2m', '1g'], 12),
      'pwc-pml4e': a(16, 4, [], 3),
      'pwc-pdpte': a(16, 4, [], 3),
      'pwc-pde': a(32, 4, [], 3),
    },
    walkReference: [12, 12, 12, 12],
    sources: [
      'github.com/CMU-SAFARI/Virtuoso config/virtual_memory_configs/common_translation.cfg: itlb 128 entries 8-way, dtlb 64 4-way, stlb 1536 12-way, l1_access_penalty 1, l2_access_penalty 12; ptw/pwc l4 16 entries 4-way, l3 16 4-way, l2 32 4-way, access_penalty 3',
    ],
    assumed: [
      'walk memory references cost 12 cycles each (the config\'s L2 data_access_time; Virtuoso simulates the caches)',
      'Virtuoso keeps separate per-page-size state; here each array holds every size; LRU replacement',
    ],
  },
};

/** Preset names, for messages and --help. */
export const CPU_NAMES = Object.keys(CPU_PRESETS);
