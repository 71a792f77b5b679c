/** native/hierarchy.h mirrors src/tlb/layout.ts: the slots, the config encoding and the stats layout, number by number. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CONF_FIELDS, HierOp, HierStat, HIER_RETRY, Policy, Slot, SlotStat } from '../../src/tlb/layout.js';

/** Every `NAME = value` of the header's constexpr int lines. */
function headerConstants(): Map<string, number> {
  const text = readFileSync(new URL('../../native/hierarchy.h', import.meta.url), 'utf8');
  const out = new Map<string, number>();
  for (const decl of text.match(/constexpr int [^;]+;/g) ?? []) {
    for (const m of decl.slice('constexpr int '.length).matchAll(/([A-Z_0-9]+)\s*=\s*(\d+)/g)) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('hierarchy layout', () => {
  it('native/hierarchy.h has the numbers of src/tlb/layout.ts', () => {
    const h = headerConstants();
    const want: Record<string, number> = {
      H_SLOTS: Slot.COUNT,
      H_CONF_FIELDS: CONF_FIELDS,
      H_SLOT_STATS: SlotStat.FIELDS,
      H_STATS: HierStat.LENGTH,
      HS_HITS: SlotStat.HITS,
      HS_MISSES: SlotStat.MISSES,
      HS_FILLS: SlotStat.FILLS,
      HS_EVICTIONS: SlotStat.EVICTIONS,
      H_L1I_MISSES: HierStat.L1I_MISSES,
      H_L1D_MISSES: HierStat.L1D_MISSES,
      H_STLB_HITS_I: HierStat.STLB_HITS_I,
      H_STLB_MISSES_I: HierStat.STLB_MISSES_I,
      H_STLB_HITS_D: HierStat.STLB_HITS_D,
      H_STLB_MISSES_D: HierStat.STLB_MISSES_D,
      H_WALKS_I: HierStat.WALKS_I,
      H_WALKS_D: HierStat.WALKS_D,
      H_REFS_PML4E: HierStat.REFS_PML4E,
      H_ASSISTS: HierStat.ASSISTS,
      H_FAULT_WALKS: HierStat.FAULT_WALKS,
      H_MISSES_ALL: HierStat.MISSES_ALL,
      H_SLOT_STLB: Slot.STLB,
      H_SLOT_L2I: Slot.L2I,
      H_SLOT_PWC_PML4: Slot.PWC_PML4,
      H_SLOT_PWC_PDPT: Slot.PWC_PDPT,
      H_SLOT_PWC_PD: Slot.PWC_PD,
      POL_LRU: Policy.LRU,
      POL_PLRU: Policy.PLRU,
      POL_FIFO: Policy.FIFO,
      POL_RANDOM: Policy.RANDOM,
      HOP_INVLPG: HierOp.INVLPG,
      HOP_ADDRESS: HierOp.INVPCID_ADDRESS,
      HOP_CONTEXT: HierOp.INVPCID_CONTEXT,
      HOP_ALL_GLOBAL: HierOp.INVPCID_ALL_GLOBAL,
      HOP_ALL: HierOp.INVPCID_ALL,
      H_RETRY: HIER_RETRY,
    };
    for (const [name, value] of Object.entries(want)) expect({ name, value: h.get(name) }).toEqual({ name, value });
    // Nothing in the header goes unchecked.
    expect([...h.keys()].sort()).toEqual(Object.keys(want).sort());
  });
});
