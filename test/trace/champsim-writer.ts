/** Writes ChampSim's instruction records for tests (input_instr, 64 bytes; cloudsuite_instr, 96 bytes with asid[2]). */

/** One instruction: its ip, up to 4 loads and 2 stores (4 each for CloudSuite), and CloudSuite's ASIDs. */
export interface Instr {
  ip: number;
  loads?: number[];
  stores?: number[];
  branch?: boolean;
  taken?: boolean;
  asid?: [number, number];
}

/** The records of `instrs` in ChampSim's layout (64-byte input_instr) or CloudSuite's (96-byte). */
export function champsimBytes(instrs: readonly Instr[], cloudsuite = false): Buffer {
  const R = cloudsuite ? 96 : 64;
  const b = Buffer.alloc(instrs.length * R);
  instrs.forEach((x, i) => {
    const at = i * R;
    b.writeBigUInt64LE(BigInt(x.ip), at);
    b[at + 8] = x.branch ? 1 : 0;
    b[at + 9] = x.taken ? 1 : 0;
    // Registers: any small numbers (ChampSim reads them for branch types; vmsim ignores them).
    b[at + 10] = 3;
    const stores = cloudsuite ? 24 : 16;
    const loads = cloudsuite ? 56 : 32;
    (x.stores ?? []).forEach((a, k) => b.writeBigUInt64LE(BigInt(a), at + stores + 8 * k));
    (x.loads ?? []).forEach((a, k) => b.writeBigUInt64LE(BigInt(a), at + loads + 8 * k));
    if (cloudsuite) {
      b[at + 88] = x.asid?.[0] ?? 0;
      b[at + 89] = x.asid?.[1] ?? 0;
    }
  });
  return b;
}
