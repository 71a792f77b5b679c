/** Formats addresses for people; no dependencies so every layer (errors included) can use it. */

/** Prints an address as canonical 16-digit hex: negative numbers are their 64-bit two's complement. */
export function hex(addr: number | bigint): string {
  if (typeof addr === 'bigint') return '0x' + BigInt.asUintN(64, addr).toString(16).padStart(16, '0');
  if (!Number.isInteger(addr)) return String(addr);
  if (addr >= 0) return '0x' + addr.toString(16).padStart(16, '0');
  return '0x' + BigInt.asUintN(64, BigInt(addr)).toString(16).padStart(16, '0');
}
