/** The core's own check of an encoded hierarchy configuration (both backends refuse the same ones; src/tlb/hierarchy-options.ts gives users the messages). */
import { CONF_FIELDS, CONF_LENGTH, Policy, Slot } from '../../tlb/layout.js';

/** True when `config` encodes a hierarchy the model can build (native/hierarchy.cc checks the same). */
export function hierarchyConfigOk(config: Float64Array): boolean {
  if (!(config instanceof Float64Array) || config.length < CONF_LENGTH) return false;
  for (let s = 0; s < Slot.COUNT; s++) {
    const [entries, ways, policy, sizes, seed] = config.subarray(s * CONF_FIELDS, s * CONF_FIELDS + CONF_FIELDS);
    if (!Number.isInteger(entries) || entries! < 0 || entries! > 1 << 20) return false;
    if (entries === 0) continue;
    if (!Number.isInteger(ways) || ways! < 1 || ways! > entries! || entries! % ways! !== 0) return false;
    if (!Number.isInteger(policy) || policy! < 0 || policy! > Policy.RANDOM) return false;
    if (policy === Policy.PLRU && (ways! & (ways! - 1)) !== 0) return false;
    if (!Number.isInteger(sizes) || sizes! < 0 || sizes! > 7) return false;
    if (!Number.isInteger(seed) || seed! < 0 || seed! > 0xffffffff) return false;
  }
  return true;
}
